"""Sign-up proves the address (issue 25, item 4): one answer whether the address is free or taken, a mailed
single-use link that expires, and no log-in before the link is followed."""
from __future__ import annotations

import hashlib
import logging
import re
import uuid
from datetime import timedelta

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import column, insert, select, table, update
from werkzeug.security import generate_password_hash

from core import migrate
from core.logs import NOISY
from core.models import EmailVerification, TaskLedger, User, utcnow
from tests.helpers import TOKEN, csrf_token, queued_mail, session_id, verification_link
from tests.mail import VERIFY_LINK, links_mailed_to, mails_to
from tests.sqsd_client import body, deliver

PASSWORD = "correct horse"
CSRF = re.compile(r'(name="csrf-token" content="|name="csrf_token" type="hidden" value=")[^"]+')
OLD_USERS = table("users", column("email"), column("password_hash"), column("created_at"))  # before 0005
INVALID_LINK = "This link does not work"
UNCONFIRMED = "follow the link we mailed"


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def worker(make_app):
    return make_app(APP_ROLE="worker")


def new_address() -> str:
    """An address of this test alone: the session's cloud keeps every test's mail."""
    return f"user-{uuid.uuid4().hex[:10]}@example.com"


def post_sign_up(app, email: str, password: str = PASSWORD, **kwargs):
    client = app.test_client()
    token = csrf_token(client, "/signup")
    return client.post("/signup", data={"email": email, "password": password, "csrf_token": token}, **kwargs)


def post_log_in(app, email: str, password: str):
    client = app.test_client()
    token = csrf_token(client, "/login")
    return client, client.post("/login", data={"email": email, "password": password, "csrf_token": token})


def page(response) -> str:
    """The answer's body without its CSRF token (in the page's meta tag and any form), the one part that
    differs between any two answers."""
    return CSRF.sub(r"\1", response.get_data(as_text=True))


def account(app, email: str) -> User | None:
    with app.extensions["database"].read() as session:
        return session.scalar(select(User).where(User.email == email))


def test_a_taken_address_gets_the_same_answer_as_a_free_one(app):
    email = new_address()
    free = post_sign_up(app, email)
    taken = post_sign_up(app, email.upper(), "another passphrase")
    assert free.status_code == taken.status_code == 200
    assert page(free) == page(taken)
    assert "Check your mail" in page(free) and email in page(free)
    queued = {envelope.args["template"]: envelope.args for envelope in queued_mail(app, email)}
    assert set(queued) == {"verify_address", "sign_up_attempt"}
    assert queued["sign_up_attempt"] == {"to": email, "template": "sign_up_attempt"}  # no link for the other one
    assert VERIFY_LINK.fullmatch(queued["verify_address"]["link"])
    # The taken address's account is as it was: its own password, still waiting for its link.
    client = app.test_client()
    assert client.get(queued["verify_address"]["link"]).status_code == 302
    assert post_log_in(app, email, "another passphrase")[1].status_code == 400
    assert post_log_in(app, email, PASSWORD)[1].status_code == 302


def test_the_mailed_link_logs_in_once(app, worker, cloud):
    email = new_address()
    assert post_sign_up(app, email).status_code == 200
    (envelope,) = queued_mail(app, email)
    first = deliver(worker.test_client(), envelope)
    again = deliver(worker.test_client(), envelope, receive_count=2)  # SQS delivers at least once
    assert (body(first)["status"], body(again)["status"]) == ("done", "duplicate")
    (mail,) = mails_to(cloud.url, email)
    assert mail["subject"] == "Confirm your email address" and "24 hours" in mail["body"]
    (link,) = links_mailed_to(cloud.url, email)
    assert link.startswith("http://localhost/verify/")  # the site as the browser reached it

    browser = app.test_client()
    csrf_token(browser, "/login")
    anonymous = session_id(browser)
    followed = browser.get(link)
    assert followed.status_code == 302 and followed.headers["Location"] == "/uploads"
    assert session_id(browser) != anonymous  # a new identity, a new session id
    assert email in browser.get("/uploads").get_data(as_text=True)

    reused = app.test_client().get(link)
    assert reused.status_code == 400 and INVALID_LINK in reused.get_data(as_text=True)
    assert account(app, email).email_verified


def test_the_taken_address_is_told_of_the_attempt_once(app, worker, cloud):
    email = new_address()
    post_sign_up(app, email)
    queued_mail(app, email)  # the sign-up's own link: not this test's concern
    post_sign_up(app, email, "another passphrase")
    (envelope,) = queued_mail(app, email)
    for receive_count in (1, 2):
        deliver(worker.test_client(), envelope, receive_count=receive_count)
    (mail,) = mails_to(cloud.url, email)
    assert mail["subject"] == "Someone tried to sign up with your address"
    assert "Nothing was changed" in mail["body"] and not VERIFY_LINK.search(mail["body"])


def test_an_expired_link_an_unknown_one_and_nonsense_are_refused_alike(app):
    email = new_address()
    post_sign_up(app, email)
    link = verification_link(app, email)
    with app.extensions["database"].write() as session:
        session.execute(update(EmailVerification).values(expires_at=utcnow() - timedelta(seconds=1)))
    refusals = [app.test_client().get(path) for path in (
        link, "/verify/" + "A" * 43, "/verify/short", "/verify/" + "a" * 5000, "/verify/%00", "/verify/..",
        "/verify/%C3%A9%F0%9F%98%80", "/verify/a;b")]
    for refused in refusals:
        assert refused.status_code == 400, refused.request.path
        assert page(refused) == page(refusals[0])
    assert INVALID_LINK in page(refusals[0])
    assert not account(app, email).email_verified


def test_an_unconfirmed_account_cannot_log_in_until_its_link_is_followed(app):
    email = new_address()
    post_sign_up(app, email)
    browser, unconfirmed = post_log_in(app, email, PASSWORD)
    assert unconfirmed.status_code == 403 and UNCONFIRMED in page(unconfirmed) and email in page(unconfirmed)
    assert browser.get("/uploads").status_code == 302  # no session
    # Without the password nothing tells the account exists: a wrong one answers as for no account at all.
    stranger = new_address()
    wrong = post_log_in(app, email, "not the password")[1]
    nobody = post_log_in(app, stranger, "not the password")[1]
    assert wrong.status_code == nobody.status_code == 400
    assert "Wrong email or password." in page(wrong) and UNCONFIRMED not in page(wrong)
    assert page(wrong).replace(email, "") == page(nobody).replace(stranger, "")
    assert app.test_client().get(verification_link(app, email)).status_code == 302
    assert post_log_in(app, email, PASSWORD)[1].status_code == 302


def test_the_token_is_kept_only_in_the_mail(app, worker, caplog):
    """The database keeps its SHA-256, the ledger neither; no log line of the apps carries it."""
    caplog.set_level(logging.DEBUG)
    email = new_address()
    post_sign_up(app, email)
    (envelope,) = queued_mail(app, email)
    deliver(worker.test_client(), envelope)
    token = envelope.args["link"].rsplit("/", 1)[1]
    assert app.test_client().get(envelope.args["link"]).status_code == 302
    assert app.test_client().get(envelope.args["link"]).status_code == 400
    # The AWS SDK's own loggers (which would show the request) are held at WARNING in the apps: core/logs.py.
    logged = [record.getMessage() for record in caplog.records if not record.name.startswith(NOISY)]
    assert not [line for line in logged if token in line]
    with app.extensions["database"].read() as session:
        ledger = session.scalars(select(TaskLedger)).all()
    assert ledger and not [row for row in ledger if token in f"{row.key} {row.result}"]


def test_the_hash_is_what_the_database_keeps(app):
    email = new_address()
    post_sign_up(app, email)
    token = verification_link(app, email).rsplit("/", 1)[1]
    with app.extensions["database"].read() as session:
        (kept,) = session.scalars(select(EmailVerification.token_hash)).all()
    assert kept == hashlib.sha256(token.encode()).hexdigest() and token not in kept


def test_the_link_names_the_site_as_the_load_balancer_received_the_request(app):
    """Behind the load balancer (X-Forwarded-Proto and -Port, as an ALB sends them) and nginx (Host without a port)."""
    for host, port, origin in (("app.example.com", "443", "https://app.example.com"),
                               ("app.example.com", "8443", "https://app.example.com:8443")):
        email = new_address()
        client = app.test_client()
        headers = {"X-Forwarded-For": "203.0.113.5, 10.0.1.17", "X-Forwarded-Proto": "https",
                   "X-Forwarded-Port": port}
        form = client.get("/signup", base_url=f"http://{host}", headers=headers).get_data(as_text=True)
        token = TOKEN.search(form).group(1)
        # Over https Flask-WTF also wants a Referer of this very origin, as a browser sends it.
        answer = client.post("/signup", base_url=f"http://{host}", headers={**headers, "Referer": f"{origin}/signup"},
                             data={"email": email, "password": PASSWORD, "csrf_token": token})
        assert answer.status_code == 200, answer.get_data(as_text=True)
        assert verification_link(app, email).startswith(f"{origin}/verify/")


def test_without_the_queue_no_account_waits_for_a_mail_never_sent(make_app):
    """The mail is queued before the account is committed: a queue that refuses leaves the address free."""
    email, taken = new_address(), new_address()
    working = make_app()
    post_sign_up(working, taken)
    queued_mail(working, taken)
    broken = make_app(WORKER_QUEUE_URL="")
    refused = post_sign_up(broken, email)
    assert refused.status_code == 503 and "try again" in page(refused)
    assert page(post_sign_up(broken, taken)) == page(refused)  # refused alike, taken or not
    assert account(working, email) is None
    post_sign_up(working, email)
    assert [m.args["template"] for m in queued_mail(working, email)] == ["verify_address"]


def test_accounts_from_before_verification_count_as_verified(make_app):
    """Accounts the migration finds, and those the previous release still inserts during a rolling deployment
    (it knows no email_verified column and logs new accounts in at once), log in."""
    app = make_app()
    database = app.extensions["database"]
    config = Config()
    config.set_main_option("script_location", str(migrate.SCRIPTS))
    with database.writer.connect() as conn:
        config.attributes["connection"] = conn
        with conn.begin():
            command.downgrade(config, "0004")
        with conn.begin():
            conn.execute(insert(OLD_USERS).values(email="old@example.com", created_at=utcnow(),
                                                  password_hash=generate_password_hash(PASSWORD)))
        with conn.begin():
            command.upgrade(config, "head")
        with conn.begin():  # the previous release's insert, after the migration
            conn.execute(insert(OLD_USERS).values(email="rolling@example.com", created_at=utcnow(),
                                                  password_hash=generate_password_hash(PASSWORD)))
    for email in ("old@example.com", "rolling@example.com"):
        assert post_log_in(app, email, PASSWORD)[1].status_code == 302, email
