"""Content-Security-Policy on every answer, and logged-in pages kept out of every cache."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from tests.helpers import sign_up

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=", re.I)
INLINE_STYLE = re.compile(r"<style\b|\sstyle\s*=", re.I)


def directives(response) -> dict[str, list[str]]:
    policy = response.headers["Content-Security-Policy"]
    parsed = {}
    for part in filter(None, (p.strip() for p in policy.split(";"))):
        name, *values = part.split()
        parsed[name] = values
    return parsed


@pytest.fixture
def browser(make_app):
    app = make_app(CDN_URL="https://cdn.example.net", UPLOAD_MAX_BYTES="50000")
    client = app.test_client()
    client.environ_base["HTTP_X_CSRFTOKEN"] = sign_up(client, "csp@example.com")
    return client


def test_every_page_has_a_strict_policy_and_no_inline_code(make_app, browser):
    anonymous = make_app().test_client()
    answers = {"login": anonymous.get("/login"), "signup": anonymous.get("/signup"),
               "missing page": anonymous.get("/no-such-page"), "uploads": browser.get("/uploads"),
               "api": browser.post("/uploads", json={}), "health": anonymous.get("/healthz"),
               "script": anonymous.get("/static/uploads.js")}
    for name, response in answers.items():
        policy = directives(response)
        assert policy["default-src"] == ["'none'"], name
        assert policy["script-src"] == ["'self'"], name
        assert policy["style-src"] == ["'self'"], name
        assert policy["frame-ancestors"] == ["'none'"] and policy["base-uri"] == ["'none'"], name
        assert policy["form-action"] == ["'self'"], name
        assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"], name
        if response.mimetype == "text/html":
            page = response.get_data(as_text=True)
            assert not INLINE_SCRIPT.search(page), name
            assert not INLINE_HANDLER.search(page), name
            assert not INLINE_STYLE.search(page), name


def test_the_policy_admits_the_upload_and_image_origins(browser):
    created = browser.post("/uploads", json={"filename": "a.png", "content_type": "image/png", "size": 100})
    assert created.status_code == 201
    post = urlsplit(created.get_json()["post"]["url"])
    policy = directives(browser.get("/uploads"))
    assert f"{post.scheme}://{post.netloc}" in policy["connect-src"]
    assert "https://cdn.example.net" in policy["img-src"]
    assert policy["connect-src"][0] == "'self'" and len(policy["connect-src"]) == 2


def test_the_stylesheet_is_served(browser):
    page = browser.get("/uploads").get_data(as_text=True)
    sheet = re.search(r'<link rel="stylesheet" href="([^"]+)"', page)
    assert sheet and browser.get(sheet.group(1)).status_code == 200


def test_logged_in_answers_are_not_stored(browser):
    for response in (browser.get("/uploads"), browser.post("/uploads", json={}), browser.get("/login"),
                     browser.get("/no-such-page")):
        assert response.headers.get("Cache-Control") == "no-store"
