"""Sign up, prove the address, log in, log out. The session id is rotated at every change of identity.

Both forms are throttled per account and per client address (web/throttle.py); new
passwords follow web/passwords.py; log-in costs one password hash whether or not the
account exists and answers both alike. Sign-up answers the same page whether or not the
address has an account and mails either a single-use link that proves it (GET
/verify/<token>) or, to an existing account's owner, word of the attempt
(core/verification.py); an account logs in only once its link was followed.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Callable
from functools import wraps
from typing import Any, ParamSpec, cast
from urllib.parse import urlsplit

from botocore.exceptions import BotoCoreError, ClientError
from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm
from sqlalchemy import CursorResult, delete, select
from sqlalchemy.exc import IntegrityError
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.security import check_password_hash, generate_password_hash
from werkzeug.wrappers import Response
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length, Regexp

from core import verification
from core.models import EmailVerification, User, utcnow
from core.queue import Envelope, QueueNotConfigured, enqueue
from web import context, passwords
from web.errors import wants_json

bp = Blueprint("auth", __name__)
log = logging.getLogger(__name__)

P = ParamSpec("P")
EMAIL = re.compile(r"^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+$")
EMAIL_VALIDATORS = [DataRequired(), Length(max=254), Regexp(EMAIL, message="Enter a valid email address.")]
TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{20,100}$")  # a token_urlsafe of TOKEN_BYTES is 43 characters
# One page for every link that does not work: it says nothing about which of these it was.
INVALID_LINK = (f"This link does not work: it is unknown, already used or expired (a link works once, within "
                f"{verification.LINK_HOURS} hours). If you followed it before, your address is confirmed: log in.")


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=EMAIL_VALIDATORS, render_kw={"autocomplete": "username"})
    password = PasswordField("Password", validators=[DataRequired(), Length(max=passwords.MAX_LENGTH)],
                             render_kw={"autocomplete": "current-password"})


class SignUpForm(FlaskForm):
    email = EmailField("Email", validators=EMAIL_VALIDATORS, render_kw={"autocomplete": "username"})
    password = PasswordField(
        "Password",
        validators=[
            DataRequired(),
            Length(min=passwords.MIN_LENGTH, max=passwords.MAX_LENGTH,
                   message=f"Use at least {passwords.MIN_LENGTH} characters (at most {passwords.MAX_LENGTH})."),
            passwords.not_common,
            passwords.not_the_email,
        ],
        description=passwords.HINT,
        render_kw={"autocomplete": "new-password"},
    )


def _posted() -> ImmutableMultiDict[str, str] | None:
    """The HTML form's fields only: Flask-WTF would also take a JSON body, which is no form of ours."""
    return request.form if request.method == "POST" else None


def login_required(view: Callable[P, ResponseReturnValue]) -> Callable[P, ResponseReturnValue]:
    """Pages redirect to the log-in page; API calls get a JSON 401."""

    @wraps(view)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> ResponseReturnValue:
        user_id = session.get("user_id")
        if user_id is None:
            if wants_json():
                abort(401, "Log in first.")
            return redirect(url_for("auth.login", next=request.path))
        g.user_id = user_id
        return view(*args, **kwargs)

    return wrapped


def _start_session(user: User) -> None:
    """New identity, new session id: a fixated or stolen anonymous id is worth nothing."""
    session.clear()
    session["user_id"] = user.id
    session["email"] = user.email
    # Flask types session_interface as its base SessionInterface; Flask-Session's adds regenerate().
    current_app.session_interface.regenerate(session)  # type: ignore[attr-defined]


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("uploads.page")


@bp.get("/")
def index() -> Response:
    return redirect(url_for("uploads.page") if session.get("user_id") else url_for("auth.login"))


@bp.route("/signup", methods=["GET", "POST"])
def signup() -> Response | tuple[str, int]:
    form = SignUpForm(formdata=_posted())
    if form.validate_on_submit():
        email = form.email.data.strip().lower()
        _sign_up(email, generate_password_hash(form.password.data))
        return render_template("check_mail.html", email=email, hours=verification.LINK_HOURS), 200
    status = 400 if form.errors else 200
    return render_template("signup.html", form=form), status


def _sign_up(email: str, password_hash: str) -> None:
    """A free address gets an unverified account and the mailed link that proves it; a taken one changes
    nothing, and its owner is told of the attempt. One mail is queued either way, so the answer is the same."""
    try:
        with context.database().write() as db:
            user = User(email=email, password_hash=password_hash, email_verified=False)
            db.add(user)
            db.flush()  # IntegrityError here: the address has an account
            token = verification.new_token()
            db.add(EmailVerification(token_hash=verification.token_hash(token), user_id=user.id,
                                     expires_at=utcnow() + verification.LINK_LIFETIME))
            # The site as this request reached it (scheme and port from the load balancer's X-Forwarded-* headers,
            # through ProxyFix). Queued before the commit: a queue that refuses leaves no account waiting for a
            # mail that never comes.
            _queue(verification.verification_mail(email, url_for("auth.verify", token=token, _external=True)))
    except IntegrityError:
        _queue(verification.attempt_mail(email))


def _queue(envelope: Envelope) -> None:
    """Queue a sign-up's mail; a queue that cannot take it is a 503 the user may retry (it rolls back the account)."""
    try:
        enqueue(context.settings(), envelope)
    except (BotoCoreError, ClientError, QueueNotConfigured, RuntimeError) as exc:
        log.error("could not queue the sign-up mail (%s): %s", envelope.idempotency_key, exc)
        abort(503, "The confirmation mail could not be sent just now; try again shortly.")


@bp.get("/verify/<token>")
def verify(token: str) -> Response:
    """The mailed link: proves the address, once, before it expires, and logs the account in."""
    user = _spend(token) if TOKEN_SHAPE.match(token) else None
    if user is None:
        abort(400, INVALID_LINK)
    _start_session(user)
    return redirect(url_for("uploads.page"))


def _spend(token: str) -> User | None:
    """The account `token` proves, now verified, with the token spent; None for an unknown, used or expired one.
    Found by its hash: the database never holds or compares the token itself."""
    digest = verification.token_hash(token)
    with context.database().write() as db:
        link = db.scalar(select(EmailVerification).where(EmailVerification.token_hash == digest).with_for_update())
        if link is None or link.expires_at <= utcnow():
            return None
        # The row lock makes a second use wait and then find nothing; SQLite has no row lock, so the delete's
        # count decides there.
        spent = cast(CursorResult[Any], db.execute(delete(EmailVerification).where(
            EmailVerification.token_hash == digest)))
        if spent.rowcount != 1:
            return None
        user = db.get_one(User, link.user_id)
        user.email_verified = True
    return user


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response | tuple[str, int]:
    form = LoginForm(formdata=_posted())
    if form.validate_on_submit():
        email = form.email.data.strip().lower()
        # The writer: a user who has just signed up may not be on the replica yet.
        with context.database().write() as db:
            user = db.scalar(select(User).where(User.email == email))
        # One hash whether or not the account exists: an unknown address takes as long as a wrong password.
        password_hash = user.password_hash if user else passwords.UNKNOWN_ACCOUNT_HASH
        if check_password_hash(password_hash, form.password.data) and user is not None:
            if not user.email_verified:  # only someone with the password learns this
                return render_template("check_mail.html", email=user.email, unconfirmed=True), 403
            _start_session(user)
            return redirect(_safe_next(request.args.get("next")))
        form.password.errors.append("Wrong email or password.")
    status = 400 if form.errors else 200
    return render_template("login.html", form=form), status


@bp.post("/logout")
def logout() -> Response:
    session.clear()
    flash("You are logged out.")
    # Flask types session_interface as its base SessionInterface; Flask-Session's adds regenerate().
    current_app.session_interface.regenerate(session)  # type: ignore[attr-defined]
    return redirect(url_for("auth.login"))
