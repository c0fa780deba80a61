"""The Flask worker app (APP_ROLE=worker), served only to Elastic Beanstalk's sqsd daemon.

Queued tasks arrive at / (sqsd's default HttpPath), periodic tasks from cron.yaml
at /periodic/<name>. See worker/views.py for the answers and their meaning. A
body larger than SQS's largest message (1 MiB: SendMessage's MessageBody, SQS API
reference) cannot come from sqsd: it gets 413 unread.
"""
from __future__ import annotations

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException

import worker.tasks  # noqa: F401  (registers the tasks)
from core import db
from core.settings import Settings
from worker import views

MAX_MESSAGE_BYTES = 1_048_576


def create_app(settings: Settings | None = None, database: db.Database | None = None) -> Flask:
    settings = settings or Settings.from_env()
    app = Flask(__name__, static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = MAX_MESSAGE_BYTES
    app.extensions["settings"] = settings
    app.extensions["database"] = database or db.from_settings(settings)
    app.register_blueprint(views.bp)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> tuple[Response, int]:
        # Flask answers code-less (proxy) exceptions itself and never calls a handler for them.
        return jsonify(error=exc.description, status=exc.code), exc.code or 500

    return app
