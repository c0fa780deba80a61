"""Hostile input to the web app: a clear 4xx (or a legitimate 2xx/3xx), never a 500 or a traceback.

The sweep walks the app's own url_map, so a route added later is attacked too; a
route whose converter has no hostile values here fails the sweep until it gets some.
"""
from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from tests.hostile.web_clients import anonymous, logged_in

DEEP_ARRAY = "[" * 30_000 + "]" * 30_000  # 60 KB: under the body limit, deeper than any parser's stack
DEEP_OBJECT = '{"a":' * 10_000 + "1" + "}" * 10_000

# Values for each URL converter: out of range, negative, huge, not numbers, traversal, NUL, long, unicode.
PATH_VALUES = {
    "int": ["0", "-1", "99999999999999999999999", str(2**63), str(2**63 - 1), str(2**31), str(2**32),
            "9" * 5000, "1e9", "0x10", "\u0663", "1.5", "%00", "007"],
    "default": ["..%2f..%2fetc%2fpasswd", "%00", "a" * 5000, "%C3%A9%F0%9F%98%80", "%ff%fe", "-1", "."],
    "path": ["../../etc/passwd", "..%2f..%2fapp.py", "%00", "a/" * 2000, "%C3%A9.css", "uploads.js%00.png",
             "\\..\\wsgi.py"],
}

HOSTILE_JSON: list[Any] = [
    {"filename": 1, "content_type": [], "size": {}},
    {"filename": "a.png", "content_type": "image/png", "size": 10**30},
    {"filename": "a.png", "content_type": "image/png", "size": -(2**63)},
    {"filename": "a.png", "content_type": "image/png", "size": 1.5},
    {"filename": "a.png", "content_type": "image/png", "size": True},
    {"filename": "a\u0000.png", "content_type": "image/png\u0000", "size": 10},
    {"filename": "\U0001f600" * 10_000, "content_type": "image/png", "size": 10},
    {"filename": "\u202egnp.exe", "content_type": "image/png", "size": 10},
    {"filename": None, "content_type": None, "size": None},
    [], "a string", None, 12, 2**80,
]

HOSTILE_FORMS: list[dict[str, Any]] = [
    {"email": "a\u0000@example.com", "password": "x\u0000" * 20},
    {"email": "\U0001f600" * 3000 + "@example.com", "password": "\u00e9" * 5000},
    {"email": ["one@example.com", "two@example.com"], "password": ["a", "b"]},
    {"email": "", "password": ""},
    {"email": "' OR 1=1 --@example.com", "password": "' OR '1'='1' -- long enough"},
    {"unexpected": "field"},
]

QUERIES = ["", "?next=%00", "?next=//evil.example", "?next=/%5Cevil.example", "?next=%0d%0aSet-Cookie:%20a=b",
           "?next=" + "a" * 5000, "?next=http://evil.example/", "?%ff=%fe"]


def bodies() -> Iterator[tuple[str, dict[str, Any]]]:
    """(label, test-client keyword arguments) for every hostile body a POST route is sent.

    Browser.open adds the browser's CSRF token (header, and form field in a form), so the
    body reaches the view rather than stopping at the CSRF check."""
    headers: dict[str, str] = {}
    yield "deep array", {"data": DEEP_ARRAY, "content_type": "application/json", "headers": headers}
    yield "deep object", {"data": DEEP_OBJECT, "content_type": "application/json", "headers": headers}
    for number, body in enumerate(HOSTILE_JSON):
        yield f"json {number}", {"data": json.dumps(body), "content_type": "application/json", "headers": headers}
    yield "huge json number", {"data": '{"size": ' + "9" * 5000 + "}", "content_type": "application/json",
                               "headers": headers}
    yield "NaN", {"data": '{"size": NaN, "filename": Infinity}', "content_type": "application/json",
                  "headers": headers}
    yield "bad utf-8", {"data": b'{"filename": "\xff\xfe"}', "content_type": "application/json", "headers": headers}
    yield "empty json", {"data": b"", "content_type": "application/json", "headers": headers}
    yield "json charset", {"data": "{}", "content_type": "application/json; charset=utf-32", "headers": headers}
    for number, form in enumerate(HOSTILE_FORMS):
        yield f"form {number}", {"data": dict(form)}
    yield "text/plain", {"data": "hello", "content_type": "text/plain", "headers": headers}
    yield "xml", {"data": "<a><b/></a>", "content_type": "application/xml", "headers": headers}
    yield "multipart file", {"data": {"file": (io.BytesIO(b"\x89PNG" + b"\0" * 100), "a.png")},
                        "content_type": "multipart/form-data"}
    yield "oversize", {"data": b"x" * 200_000, "content_type": "application/octet-stream", "headers": headers}
    yield "oversize json", {"data": json.dumps({"filename": "a" * 200_000}), "content_type": "application/json",
                            "headers": headers}
    yield "bad content type", {"data": "{}", "content_type": "application/json; boundary=\u0000",
                               "headers": headers}
    yield "forged proxy chain", {"data": "{}", "content_type": "application/json",
                                 "headers": {**headers, "X-Forwarded-For": "not-an-ip, \u0000, 999.1.1.1" * 50,
                                             "X-Forwarded-Proto": "gopher"}}


def hostile_paths(app: Flask) -> Iterator[tuple[str, str, set[str]]]:
    """(rule, path, methods) for every rule of the url_map, its arguments replaced by hostile values."""
    for rule in app.url_map.iter_rules():
        methods = set(rule.methods or ()) - {"HEAD", "OPTIONS"}
        arguments = re.findall(r"<(?:([a-z]+)(?:\([^)]*\))?:)?(\w+)>", rule.rule)
        if not arguments:
            yield rule.rule, rule.rule, methods
            continue
        for converter, name in arguments:
            assert (converter or "default") in PATH_VALUES, f"{rule.rule}: no hostile values for <{converter}:{name}>"
        for index in range(max(len(PATH_VALUES[converter or "default"]) for converter, _ in arguments)):
            path = rule.rule
            for converter, name in arguments:
                value = PATH_VALUES[converter or "default"][index % len(PATH_VALUES[converter or "default"])]
                path = re.sub(rf"<(?:[a-z]+(?:\([^)]*\))?:)?{name}>", lambda _, value=value: value, path)
            yield rule.rule, path, methods


def problem(response: Any, what: str) -> str | None:
    """What is wrong with the answer to a hostile request, or None."""
    text = response.get_data(as_text=True)
    if response.status_code >= 500:
        return f"{what}: {response.status_code} {text[:200]}"
    if "Traceback" in text or 'File "' in text:
        return f"{what}: a traceback in the answer"
    if response.status_code >= 400 and not (response.get_json()["error"] if response.is_json else text).strip():
        return f"{what}: an empty error"
    return None


@pytest.fixture(params=["mariadb", "sqlite"])
def app(request, make_app, tmp_path) -> Flask:
    """The app on MariaDB (as in AWS) and on SQLite (as `eb_tools local` runs it): their drivers fail apart."""
    database = {"sqlite": {"STAGE": "local", "DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}"}}.get(
        request.param, {})
    return make_app(UPLOAD_MAX_BYTES="50000", **database)


def test_deeply_nested_json_is_a_clear_400(app):
    browser = logged_in(app)
    for body in (DEEP_ARRAY, DEEP_OBJECT, '{"filename": ' + DEEP_ARRAY + "}"):
        response = browser.open("POST", "/uploads", data=body, content_type="application/json")
        assert response.status_code == 400, response.get_data(as_text=True)[:300]
        assert response.is_json and "nested" in response.get_json()["error"]


@pytest.mark.parametrize("upload_id", ["99999999999999999999999", str(2**63), str(2**63 - 1), str(2**31),
                                       "9" * 5000])
def test_ids_beyond_the_id_column_are_not_found(app, upload_id):
    browser = logged_in(app)
    response = browser.open("POST", f"/uploads/{upload_id}/complete", json={})
    assert response.status_code == 404, response.get_data(as_text=True)[:300]
    assert response.is_json and response.get_json()["error"]


def test_every_int_in_a_route_is_bounded_by_the_id_column(app):
    """A converter, not a check per view: a route added later gets the bound too."""
    from web.converters import MAX_ID

    bounded = [rule.rule for rule in app.url_map.iter_rules()
               if any(getattr(conv, "max", None) == MAX_ID for conv in rule._converters.values())]
    with_ints = [rule.rule for rule in app.url_map.iter_rules() if "<int:" in rule.rule]
    assert with_ints and bounded == with_ints


def test_every_route_survives_hostile_input(app, caplog):
    caplog.set_level(logging.ERROR)
    browsers = {"anonymous": anonymous(app), "logged in": logged_in(app)}
    answers: list[str | None] = []
    for _rule, path, methods in hostile_paths(app):
        for method in sorted(methods):
            for who, browser in browsers.items():
                if method == "GET":
                    answers += [problem(browser.open(method, path + query), f"{who} GET {path[:80]}{query[:60]}")
                                for query in QUERIES]
                    continue
                answers += [problem(browser.open(method, path, **kwargs), f"{who} {method} {path[:80]} ({label})")
                            for label, kwargs in bodies()]
    assert len(answers) > 300
    problems = [answer for answer in answers if answer]
    assert not problems, f"{len(problems)} of {len(answers)} answered badly:\n" + "\n".join(problems[:40])
    assert not [r for r in caplog.records if r.name.startswith(("web", "flask"))], \
        [r.getMessage() for r in caplog.records]
