"""Typed access to what create_app binds to the current app."""
from __future__ import annotations

from flask import current_app

from core.db import Database
from core.settings import Settings


def settings() -> Settings:
    return current_app.extensions["settings"]


def database() -> Database:
    return current_app.extensions["database"]
