"""Sign-up proves the address: the link's token and the mails, shared by the web app and the worker.

The web app makes a random token, keeps only its SHA-256 with an expiry (core.models.EmailVerification), and
queues the mail that carries the link; following the link spends the token. The raw token goes nowhere but
into that message. A sign-up with an address that has an account changes nothing and queues a mail telling
its owner instead, so the sign-up's answer is the same either way.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from core.queue import Envelope

LINK_LIFETIME = timedelta(hours=24)
LINK_HOURS = int(LINK_LIFETIME.total_seconds() // 3600)
# 256 random bits: no guess comes near one, so finding a token by its hash leaks nothing a constant-time
# comparison would hide.
TOKEN_BYTES = 32
VERIFY_TEMPLATE = "verify_address"  # worker/tasks/email.py's templates
ATTEMPT_TEMPLATE = "sign_up_attempt"


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    """What the database keeps of a token: a dump of it opens no account."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def verification_mail(email: str, link: str) -> Envelope:
    """The mail with the link that proves `email` (a fresh idempotency key: each sign-up is one mail)."""
    return Envelope("email.send", {"to": email, "template": VERIFY_TEMPLATE, "link": link})


def attempt_mail(email: str) -> Envelope:
    """The mail telling the owner of `email`'s account that someone tried to sign up with it."""
    return Envelope("email.send", {"to": email, "template": ATTEMPT_TEMPLATE})
