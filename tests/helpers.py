"""Small helpers the web tests share: sign up through the real forms and the mailed link, read the CSRF token."""
from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient

from core.aws import client as aws_client
from core.queue import Envelope

TOKEN = re.compile(r'name="csrf-token" content="([^"]+)"')


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    page = client.get(path).get_data(as_text=True)
    match = TOKEN.search(page)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def sign_up(client: FlaskClient, email: str = "ada@example.com", password: str = "correct horse") -> str:
    """Sign up through the form and follow the link the queued mail carries, as a user does: the browser is
    logged in; returns its CSRF token."""
    token = csrf_token(client, "/signup")
    response = client.post("/signup", data={"email": email, "password": password, "csrf_token": token})
    assert response.status_code == 200 and "Check your mail" in response.get_data(as_text=True), \
        response.get_data(as_text=True)
    followed = client.get(verification_link(client.application, email))
    assert followed.status_code == 302, followed.get_data(as_text=True)
    return csrf_token(client, "/uploads")


def verification_link(app: Flask, email: str) -> str:
    """The link of the one sign-up mail queued for `email` (taken off the queue, as the worker takes it)."""
    links = [envelope.args["link"] for envelope in queued_mail(app, email)
             if envelope.args.get("template") == "verify_address"]
    assert len(links) == 1, f"{len(links)} sign-up links queued for {email}"
    return links[0]


def queued_mail(app: Flask, email: str) -> list[Envelope]:
    """The email.send messages queued for `email`, taken off the worker queue as the worker would take them, so
    a test that reads the queue later finds only its own; every other message is made visible again at once."""
    settings = app.extensions["settings"]
    sqs = aws_client(settings, "sqs")
    address = email.strip().lower()
    mine: list[Envelope] = []
    others: list[str] = []
    while batch := sqs.receive_message(QueueUrl=settings.worker_queue_url, MaxNumberOfMessages=10,
                                       WaitTimeSeconds=0).get("Messages", []):
        for message in batch:
            envelope = Envelope.from_json(message["Body"])
            if envelope.task == "email.send" and envelope.args.get("to") == address:
                mine.append(envelope)
                sqs.delete_message(QueueUrl=settings.worker_queue_url, ReceiptHandle=message["ReceiptHandle"])
            else:
                others.append(message["ReceiptHandle"])
    for handle in others:
        sqs.change_message_visibility(QueueUrl=settings.worker_queue_url, ReceiptHandle=handle, VisibilityTimeout=0)
    return mine


def session_id(client: FlaskClient) -> str | None:
    cookie = client.get_cookie("session")
    return cookie.value if cookie else None
