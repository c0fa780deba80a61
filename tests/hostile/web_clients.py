"""Browsers the hostile web tests share: an anonymous one and a logged-in one, each with its CSRF token.

A hostile request may change who a browser is (a POST /logout ends the session, a
sign-up that succeeds starts one): `ready()` puts the browser back as it was, with a
fresh token, so every request of a sweep reaches the view it is aimed at.
"""
from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from tests.helpers import csrf_token, session_id, sign_up

PASSWORD = "correct horse battery"


class Browser:
    def __init__(self, app: Flask, email: str | None = None) -> None:
        self.app, self.email = app, email
        self.client: FlaskClient = app.test_client()
        if email:
            self.token = sign_up(self.client, email, PASSWORD)
        else:
            self.token = csrf_token(self.client, "/login")
        self.sid = session_id(self.client)
        self.relogins = 0

    def ready(self) -> None:
        """As it was: logged in as `email`, or anonymous; the CSRF token current."""
        if session_id(self.client) == self.sid:
            return
        if self.email is None:
            self.client = self.app.test_client()
            self.token = csrf_token(self.client, "/login")
        else:
            token = csrf_token(self.client, "/login")
            # Each time from another address (as EB's nginx forwards it: "<client>, <load balancer>"),
            # so the per-address log-in throttle this sweep is not about never refuses it.
            self.relogins += 1
            chain = {"X-Forwarded-For": f"198.51.{self.relogins // 250}.{self.relogins % 250 + 1}, 10.0.1.17"}
            answer = self.client.post("/login", data={"email": self.email, "password": PASSWORD,
                                                      "csrf_token": token}, headers=chain)
            assert answer.status_code == 302, answer.get_data(as_text=True)
            self.token = csrf_token(self.client, "/uploads")
        self.sid = session_id(self.client)

    def open(self, method: str, path: str, **kwargs: Any) -> Any:
        """The request, with this browser's current token in the header and in any form."""
        self.ready()
        headers = {**kwargs.pop("headers", {}), "X-CSRFToken": self.token}
        data = kwargs.pop("data", None)
        if isinstance(data, dict):
            data = {**data, "csrf_token": self.token}
        return self.client.open(path, method=method, headers=headers, data=data, **kwargs)


def anonymous(app: Flask) -> Browser:
    return Browser(app)


def logged_in(app: Flask, email: str = "hostile@example.com") -> Browser:
    return Browser(app, email)
