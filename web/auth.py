"""Sign up, log in, log out. The session id is rotated at every change of identity."""
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
from werkzeug.security import check_password_hash, generate_password_hash
from werkzeug.wrappers import Response
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length, Regexp

from core.models import User
from web import context
from web.errors import wants_json

bp = Blueprint("auth", __name__)

P = ParamSpec("P")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class CredentialsForm(FlaskForm):
    email = EmailField(
        "Email", validators=[DataRequired(), Length(max=254), Regexp(EMAIL, message="Enter a valid email address.")]
    )
    password = PasswordField("Password", validators=[DataRequired(), Length(min=8, max=128)])


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
    form = CredentialsForm()
    if form.validate_on_submit():
        email = form.email.data.strip().lower()
        user = User(email=email, password_hash=generate_password_hash(form.password.data))
        try:
            with context.database().write() as db:
                db.add(user)
        except IntegrityError:
            form.email.errors.append("An account with this email already exists; log in instead.")
        else:
            _start_session(user)
            return redirect(url_for("uploads.page"))
    status = 400 if form.errors else 200
    return render_template("signup.html", form=form), status


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response | tuple[str, int]:
    form = CredentialsForm()
    if form.validate_on_submit():
        email = form.email.data.strip().lower()
        # The writer: a user who has just signed up may not be on the replica yet.
        with context.database().write() as db:
            user = db.scalar(select(User).where(User.email == email))
        if user and check_password_hash(user.password_hash, form.password.data):
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
