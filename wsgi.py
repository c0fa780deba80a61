"""The one entry point of both tiers: APP_ROLE=web or APP_ROLE=worker picks the app."""
from __future__ import annotations

import sys

from flask import Flask

from core import logs
from core.settings import ConfigError, Settings

# gunicorn: a worker exiting with this code makes the master stop instead of respawning.
WORKER_BOOT_ERROR = 3


def build() -> Flask:
    settings = Settings.from_env()
    logs.configure(settings.log_level, settings.role)
    if settings.role == "worker":
        from worker import create_app
    else:
        from web import create_app
    return create_app(settings)


try:
    application = app = build()
except ConfigError as exc:
    print(f"config error: {exc}", file=sys.stderr, flush=True)
    raise SystemExit(WORKER_BOOT_ERROR) from None
