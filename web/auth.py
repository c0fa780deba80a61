"""Sign up, log in, log out. The session id is rotated at every change of identity.

Both forms are throttled per account and per client address (web/throttle.py); new
passwords follow web/passwords.py; log-in costs one password hash whether or not the
account exists and answers both alike; sign-up never says that an account exists
(what it still reveals is in the README's security section).
"""
from __future__ import annotations

import re
from collections.abc import Callable
from functools import wraps
from typing import ParamSpec
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.security import check_password_hash, generate_password_hash
from werkzeug.wrappers import Response
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length, Regexp

from core.models import User
from web import context, passwords
from web.errors import wants_json

bp = Blueprint("auth", __name__)

P = ParamSpec("P")
EMAIL = re.compile(r"^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+$")
EMAIL_VALIDATORS = [DataRequired(), Length(max=254), Regexp(EMAIL, message="Enter a valid email address.")]
# The same answer whether or not the address has an account (it may be someone else's).
SIGN_UP_REFUSED = "Could not sign up with this email address: log in instead, or use another address."


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
        user = User(email=email, password_hash=generate_password_hash(form.password.data))
        try:
            with context.database().write() as db:
                db.add(user)
        except IntegrityError:
            form.email.errors.append(SIGN_UP_REFUSED)
        else:
            _start_session(user)
            return redirect(url_for("uploads.page"))
    status = 400 if form.errors else 200
    return render_template("signup.html", form=form), status


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
