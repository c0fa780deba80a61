"""What a new password must be, after NIST SP 800-63B: long enough, not a common one, not the email.

800-63B asks verifiers to refuse passwords found in lists of commonly used or
breached ones and sets the floor for length: 8 characters (rev. 3), 15 where the
password is the only factor (rev. 4, 2024). We ask 10: above rev. 3's floor, short
enough for the passphrases people remember, with the common list and the log-in
throttles (web/throttle.py) against guessing; raise MIN_LENGTH toward 15 to follow
rev. 4. No composition rules, as 800-63B advises. Log-in applies none of this: an
account made before the policy can still log in.
"""
from __future__ import annotations

import secrets
from pathlib import Path

from flask_wtf import FlaskForm
from werkzeug.security import generate_password_hash
from wtforms import Field
from wtforms.validators import ValidationError

MIN_LENGTH = 10
MAX_LENGTH = 128
HINT = f"At least {MIN_LENGTH} characters; a few words you will remember work well. Very common passwords are refused."
COMMON_LIST = Path(__file__).with_name("data") / "common_passwords.txt"


def _load_common() -> frozenset[str]:
    lines = COMMON_LIST.read_text(encoding="utf-8").splitlines()
    return frozenset(line for line in lines if line and not line.startswith("#"))


COMMON = _load_common()

# Log-in checks an unknown email against this hash, so that it costs one hash as a wrong
# password does: the answer's timing must not tell which addresses have an account.
UNKNOWN_ACCOUNT_HASH = generate_password_hash(secrets.token_urlsafe(32))


def not_common(_form: FlaskForm, field: Field) -> None:
    if str(field.data or "").strip().casefold() in COMMON:
        raise ValidationError("This password is too common: it is among the first an attacker tries. "
                              "Choose another.")


def not_the_email(form: FlaskForm, field: Field) -> None:
    email = str(form.email.data or "").strip().casefold()
    password = str(field.data or "").strip().casefold()
    if email and password in (email, email.split("@")[0]):
        raise ValidationError("Do not use your email address (or its first part) as your password.")
