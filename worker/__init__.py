"""The Flask worker app (APP_ROLE=worker), served only to Elastic Beanstalk's sqsd daemon.

Queued tasks arrive at / (sqsd's default HttpPath), periodic tasks from cron.yaml
at /periodic/<name>. See worker/views.py for the answers and their meaning.
"""
from __future__ import annotations

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException

import worker.tasks  # noqa: F401  (registers the tasks)
from core import db
from core.settings import Settings
from core.version import running_label
from worker import views
from worker.sqsd import MAX_MESSAGE_BYTES


def create_app(settings: Settings | None = None, database: db.Database | None = None) -> Flask:
    settings = settings or Settings.from_env()
    app = Flask(__name__, static_folder=None)
    # One byte more than a message may have, so that a longer body is told from one of exactly the
    # maximum even when it comes chunked, without a length (worker/views.py refuses it).
    app.config["MAX_CONTENT_LENGTH"] = MAX_MESSAGE_BYTES + 1
    app.extensions["settings"] = settings
    app.extensions["database"] = database or db.from_settings(settings)
    app.extensions["version_label"] = running_label()  # read once: the version this process started on
    app.register_blueprint(views.bp)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> tuple[Response, int]:
        # Flask answers code-less (proxy) exceptions itself and never calls a handler for them.
        return jsonify(error=exc.description, status=exc.code), exc.code or 500

    return app
