"""The Flask worker app (APP_ROLE=worker), served to Elastic Beanstalk's sqsd daemon.

Only the health route exists so far; the sqsd endpoint, task registry and
periodic tasks come with the worker-environment work.
"""
from __future__ import annotations

from flask import Flask, jsonify

from core import db
from core.settings import Settings


def create_app(settings: Settings | None = None, database: db.Database | None = None) -> Flask:
    settings = settings or Settings.from_env()
    app = Flask(__name__)
    app.extensions["settings"] = settings
    app.extensions["database"] = database or db.from_settings(settings)

    @app.get("/healthz")
    def healthz():
        return jsonify(status="ok")

    return app
