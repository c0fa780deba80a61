"""Password guessing and account discovery: throttled log-in and sign-up, no timing oracle, no weak passwords.

Requests arrive as they do behind Elastic Beanstalk's load balancer: from nginx on the
instance (127.0.0.1) with `X-Forwarded-For: <client>, <load balancer>`.
"""
from __future__ import annotations

import statistics
import time

from flask import Flask
from werkzeug.security import generate_password_hash

from core.models import User
from tests.helpers import TOKEN, csrf_token, sign_up

ALB = "10.0.1.17"  # the load balancer's private address, as nginx appends it


def chain(client_address: str) -> dict[str, str]:
    return {"X-Forwarded-For": f"{client_address}, {ALB}"}


def log_in(app: Flask, email: str, password: str, address: str, **headers: str):
    client = app.test_client()
    token = csrf_token(client, "/login")
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token},
                       headers={**chain(address), **headers})


def sign_up_as(app: Flask, email: str, password: str, address: str):
    client = app.test_client()
    token = csrf_token(client, "/signup")
    return client.post("/signup", data={"email": email, "password": password, "csrf_token": token},
                       headers=chain(address))


def assert_throttled(response, json: bool = False) -> None:
    assert response.status_code == 429, response.get_data(as_text=True)[:300]
    retry_after = int(response.headers["Retry-After"])
    assert 0 < retry_after <= 3600
    message = response.get_json()["error"] if json else response.get_data(as_text=True)
    assert "Too many" in message and "try again in" in message


def test_wrong_passwords_for_one_account_are_limited_across_instances(make_app):
    first, second = make_app(), make_app()
    sign_up(first.test_client(), "victim@example.com", "correct horse")
    for attempt in range(5):  # from five addresses, on alternate instances: the account's budget is shared
        wrong = log_in((first, second)[attempt % 2], "Victim@Example.com", f"guess number {attempt}",
                       f"203.0.113.{attempt + 1}")
        assert wrong.status_code == 400 and "Wrong email or password" in wrong.get_data(as_text=True)
    assert_throttled(log_in(second, "victim@example.com", "correct horse", "203.0.113.99"))
    other = log_in(first, "someone.else@example.com", "not their password", "203.0.113.99")
    assert other.status_code == 400  # another account from the same address is not locked


def test_successful_log_ins_do_not_spend_the_accounts_budget(make_app):
    app = make_app()
    sign_up(app.test_client(), "regular@example.com", "correct horse")
    for attempt in range(8):
        assert log_in(app, "regular@example.com", "correct horse", f"203.0.113.{attempt + 1}").status_code == 302


def test_one_address_is_limited_across_accounts_and_instances(make_app):
    first, second = make_app(), make_app()
    for attempt in range(20):
        answer = log_in((first, second)[attempt % 2], f"nobody{attempt}@example.com", "some password", "198.51.100.7")
        assert answer.status_code == 400
    limited = log_in(first, "nobody-else@example.com", "some password", "198.51.100.7", Accept="application/json")
    assert_throttled(limited, json=True)
    # A client cannot pose as another by sending its own X-Forwarded-For: the load balancer appends the real one.
    spoofed = first.test_client()
    token = csrf_token(spoofed, "/login")
    answer = spoofed.post("/login", data={"email": "x@example.com", "password": "some password", "csrf_token": token},
                          headers={"X-Forwarded-For": f"192.0.2.1, 198.51.100.7, {ALB}"})
    assert answer.status_code == 429
    assert log_in(second, "x@example.com", "some password", "198.51.100.8").status_code == 400


def test_sign_ups_are_limited_per_email_and_per_address(make_app):
    """Each sign-up queues a mail to the address, so the limits also bound how much mail anyone can send it."""
    app = make_app()
    for attempt in range(10):
        again = sign_up_as(app, "popular@example.com", "a fine passphrase", f"203.0.113.{attempt + 1}")
        assert again.status_code == 200
    assert_throttled(sign_up_as(app, "popular@example.com", "a fine passphrase", "203.0.113.50"))
    for attempt in range(20):
        answer = sign_up_as(app, f"new{attempt}@example.com", "a fine passphrase", "198.51.100.9")
        assert answer.status_code == 200
    assert_throttled(sign_up_as(app, "one.more@example.com", "a fine passphrase", "198.51.100.9"))


def test_without_redis_the_limits_hold_in_the_process(make_app):
    """A local run without REDIS_URL keeps sessions in files and counts attempts in memory."""
    app = make_app(REDIS_URL="")
    sign_up(app.test_client(), "local@example.com", "correct horse")
    for attempt in range(5):
        assert log_in(app, "local@example.com", "wrong password", f"203.0.113.{attempt + 1}").status_code == 400
    assert_throttled(log_in(app, "local@example.com", "wrong password", "203.0.113.9"))


def test_an_unknown_email_costs_as_much_as_a_wrong_password(make_app):
    """Both do the password hash: timing tells an attacker nothing about which addresses have accounts."""
    app = make_app()
    sign_up(app.test_client(), "known@example.com", "correct horse")

    def seconds(email: str, address: str) -> float:
        client = app.test_client()
        token = csrf_token(client, "/login")
        started = time.perf_counter()
        answer = client.post("/login", data={"email": email, "password": "not the password", "csrf_token": token},
                             headers=chain(address))
        elapsed = time.perf_counter() - started
        assert answer.status_code == 400
        return elapsed

    known, unknown = [], []
    for attempt in range(4):  # within the account's budget of five failures
        known.append(seconds("known@example.com", f"203.0.113.{attempt + 1}"))
        unknown.append(seconds(f"unknown{attempt}@example.com", f"198.51.100.{attempt + 1}"))
    ratio = statistics.median(unknown) / statistics.median(known)
    assert 0.5 < ratio < 2, f"unknown email {statistics.median(unknown):.3f}s, wrong password " \
                            f"{statistics.median(known):.3f}s"


def test_sign_up_does_not_say_the_account_exists(make_app):
    """The same page for a taken address as for a free one, but its CSRF token (tests/test_signup.py has more)."""
    app = make_app()
    sign_up(app.test_client(), "taken@example.com", "correct horse")
    taken = sign_up_as(app, "Taken@example.com", "another passphrase", "203.0.113.1")
    free = sign_up_as(app, "free@example.com", "another passphrase", "203.0.113.2")
    assert taken.status_code == free.status_code == 200
    pages = [TOKEN.sub("", answer.get_data(as_text=True)) for answer in (taken, free)]
    assert pages[0].replace("taken@example.com", "") == pages[1].replace("free@example.com", "")


def test_short_and_common_passwords_are_refused_and_the_form_says_so(make_app):
    app = make_app()
    form = app.test_client().get("/signup").get_data(as_text=True)
    assert "At least 10 characters" in form and "common" in form
    cases = [("password", "at least 10 characters"), ("short1", "at least 10 characters"),
             ("qwertyuiop", "too common"), ("Password123", "too common"), ("1234567890", "too common")]
    for number, (password, words) in enumerate(cases):
        refused = sign_up_as(app, f"weak{number}@example.com", password, f"203.0.113.{number + 1}")
        assert refused.status_code == 400 and words in refused.get_data(as_text=True), password
    own = sign_up_as(app, "weak.user@example.com", "Weak.User@example.com", "203.0.113.20")
    assert own.status_code == 400 and "your email" in own.get_data(as_text=True)
    assert sign_up_as(app, "weak.user@example.com", "correct horse battery", "203.0.113.21").status_code == 200


def test_an_older_short_password_still_logs_in(make_app):
    """The policy applies to new passwords; accounts made before it are not locked out."""
    app = make_app()
    from web.context import database

    with app.app_context(), database().write() as db:
        # Verified, as the migration leaves every account from before the sign-up link.
        db.add(User(email="old@example.com", password_hash=generate_password_hash("hunter2"), email_verified=True))
    assert log_in(app, "old@example.com", "hunter2", "203.0.113.1").status_code == 302
