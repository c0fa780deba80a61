"""Hostile input to the worker app: always the README's documented answer, never a 500 or a traceback.

The README (The worker app) documents: 403 for a request that is not sqsd's; for sqsd's,
200 done / duplicate / rejected (with the reason, kept in the ledger), 409 busy, 413 for a
body larger than any SQS message, 404/405 for a route or method the worker does not have;
500 only when a task raised, which no input here may cause. The sweep walks the worker's
own url_map, so a route added later is attacked too, and sends every registered task
hostile arguments, so a task added later is too.
"""
from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from core.queue import Envelope
from tests.sqsd_client import sqsd_headers
from worker.registry import periodic, tasks
from worker.sqsd import MAX_MESSAGE_BYTES

SQSD_ANSWERS = {200: {"done", "duplicate", "rejected"}, 409: {"busy"}}
NOT_SQSD = [{"User-Agent": "aws-sqsd-not-really/0"}, {"User-Agent": "aws-sqsd"}, {"User-Agent": "curl/8.4.0"},
            {"User-Agent": "aws-sqsd/3.0.4", "X-Aws-Sqsd-Msgid": ""}, {"User-Agent": "aws-sqsd/3.0.4 (evil)"},
            {"User-Agent": "aws-sqsd/" + "9" * 5000}, {}]

# Values an argument may be given: wrong types, out of every range, huge, negative, empty, long, unicode, NUL.
HOSTILE_VALUES: list[Any] = [
    None, True, False, 0, -1, -(2**63), 2**31, 2**63, 10**30, 10**4000, 1.5, -0.0, float("inf"), "", "0", "-1",
    "a\u0000b", "\u0000", "a" * 100_000, "\U0001f600" * 5000, "\u202eexe.gnp", "\ud800", "x@example.com\r\nBcc: y",
    "arn:aws:sns:us-east-1:123456789012:" + "a" * 300, [], [1], {}, {"id": 7}, [[[[[]]]]],
]
DEEP = 30_000  # deeper than any parser's stack: 60 KB of brackets


def nested(depth: int) -> Any:
    value: Any = []
    for _ in range(depth):
        value = [value]
    return value


def envelope_json(task: str = "email.send", args: Any = None, **fields: Any) -> str:
    body = json.loads(Envelope(task, {}).to_json())
    body.update(args={} if args is None else args, **fields)
    return json.dumps(body, allow_nan=True)


def raw_bodies() -> Iterator[tuple[str, bytes | str, str | None]]:
    """(label, body, content type): what sqsd could never send, or could with a hostile producer."""
    yield "deep array", "[" * DEEP + "]" * DEEP, "application/json"
    yield "deep object", '{"a":' * DEEP + "1" + "}" * DEEP, "application/json"
    yield "deep args", '{"v": 1, "task": "email.send", "args": {"to": ' + "[" * DEEP + "]" * DEEP + "}}", \
        "application/json"
    yield "empty", b"", "application/json"
    yield "not json", "elasticbeanstalk scheduled job", "application/json"
    yield "NUL bytes", b"\0" * 1000, "application/json"
    yield "bad utf-8", b'{"v": 1, "task": "\xff\xfe"}', "application/json"
    yield "utf-16", json.dumps({"v": 1}).encode("utf-16"), "application/json; charset=utf-16"
    yield "huge number", '{"v": ' + "9" * 5000 + "}", "application/json"
    yield "NaN", '{"v": NaN, "task": Infinity}', "application/json"
    yield "array", "[1, 2, 3]", "application/json"
    yield "string", '"email.send"', "application/json"
    yield "text/plain", envelope_json(), "text/plain"
    yield "form", "task=email.send&args=1", "application/x-www-form-urlencoded"
    yield "multipart", b"--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--b--\r\n", \
        "multipart/form-data; boundary=b"
    yield "no content type", envelope_json(), None
    yield "xml", "<task>email.send</task>", "application/xml"
    yield "largest message", b" " * (MAX_MESSAGE_BYTES - 2) + b"{}", "application/json"
    yield "oversize", b"x" * (MAX_MESSAGE_BYTES + 1), "application/json"
    for name, value in (("v", True), ("v", 1.0), ("v", "1"), ("v", 10**30), ("v", -1), ("v", nested(500)),
                        ("task", 1), ("task", ""), ("task", "a" * 100_000), ("task", "\ud800"),
                        ("task", "\u0000"), ("task", "\U0001f600" * 200), ("args", []), ("args", "x"),
                        ("args", None), ("idempotency_key", ""), ("idempotency_key", "k" * 192),
                        ("idempotency_key", "\ud800"), ("idempotency_key", "\u0000\u0000"),
                        ("idempotency_key", "\U0001f600" * 191), ("idempotency_key", 7),
                        ("trace_id", "\ud800"), ("enqueued_at", 10**30), ("extra", "field")):
        yield f"envelope {name}={str(value)[:20]!r}", envelope_json(**{name: value}), "application/json"
    yield "args nested 500 deep", envelope_json("image.variants", {"upload_id": nested(500)}), "application/json"


def task_bodies() -> Iterator[tuple[str, str]]:
    """(label, envelope) with hostile arguments for every registered task and argument."""
    for task in tasks.names():
        yield f"{task} without arguments", envelope_json(task)
        yield f"{task} unknown argument", envelope_json(task, {"no_such_argument": 1})
        yield f"{task} context as argument", envelope_json(task, {"ctx": 1})
        valid = {"email.send": {"to": "ada@example.com", "template": "daily_digest", "date": "2026-11-24",
                                "count": 1},
                 "push.send": {"target_arn": "arn:aws:sns:us-east-1:123456789012:no-such-topic", "message": "m"},
                 "image.variants": {"upload_id": 1}}.get(task, {})
        for argument in valid:
            for value in HOSTILE_VALUES:
                yield (f"{task} {argument}={str(value)[:20]!r}",
                       envelope_json(task, {**valid, argument: value}))
    for template in ("upload_received", "daily_digest", "no_such_template"):
        for value in HOSTILE_VALUES:
            args = {"to": "ada@example.com", "template": template, "upload_id": value, "date": value, "count": value}
            yield f"email template {template} ={str(value)[:20]!r}", envelope_json("email.send", args)


def hostile_headers() -> Iterator[tuple[str, dict[str, str]]]:
    """sqsd's headers with hostile values, as a producer or a broken sqsd could make them."""
    yield "sqsd", sqsd_headers()
    yield "long msgid", sqsd_headers(msgid="m" * 10_000)
    yield "latin-1 msgid", sqsd_headers(msgid="\u00e9\u00ff" * 100)
    yield "receive count", sqsd_headers(**{"X-Aws-Sqsd-Receive-Count": "-99999999999999999999"})
    yield "receive count text", sqsd_headers(**{"X-Aws-Sqsd-Receive-Count": "many"})
    yield "scheduled at", sqsd_headers(**{"X-Aws-Sqsd-Scheduled-At": "9" * 5000})
    yield "scheduled at bad", sqsd_headers(**{"X-Aws-Sqsd-Scheduled-At": "2026-13-45T99:99:99Z"})
    yield "taskname mismatch", sqsd_headers(**{"X-Aws-Sqsd-Taskname": "expire-ledger" + "x" * 500})
    yield "attributes", sqsd_headers(**{f"X-Aws-Sqsd-Attr-a{n}": "v" * 1000 for n in range(50)})


PERIODIC_NAMES = [*periodic.names(), "no-such-task", "a" * 5000, "%00", "%C3%A9%F0%9F%98%80", "..", "%ff%fe"]


def problem(response: Any, what: str, allowed: dict[int, set[str] | None]) -> str | None:
    """What is wrong with the answer, or None: its status must be allowed (with one of the statuses given),
    JSON, with a reason for a rejection and an error for a 4xx, and no traceback."""
    text = response.get_data(as_text=True)
    if "Traceback" in text or 'File "' in text:
        return f"{what}: a traceback in the answer"
    if response.status_code not in allowed:
        return f"{what}: {response.status_code} {text[:200]}"
    if not response.is_json:
        return f"{what}: {response.status_code} is not JSON: {text[:100]}"
    answer = response.get_json()
    statuses = allowed[response.status_code]
    if statuses is not None and answer.get("status") not in statuses:
        return f"{what}: {response.status_code} with status {answer.get('status')!r}"
    if answer.get("status") == "rejected" and not answer.get("reason"):
        return f"{what}: rejected without a reason"
    if response.status_code >= 400 and response.status_code != 409 and not answer.get("error"):
        return f"{what}: {response.status_code} without an error"
    return None


@pytest.fixture(params=["mariadb", "sqlite"])
def worker(request, make_app, tmp_path) -> Flask:
    """The worker on MariaDB (as in AWS) and on SQLite (as `eb_tools local` runs it): their drivers fail apart."""
    database = {"sqlite": {"STAGE": "local", "DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}"}}.get(
        request.param, {})
    return make_app(APP_ROLE="worker", **database)


def post(client: Any, path: str, body: bytes | str, content_type: str | None, headers: dict[str, str]) -> Any:
    return client.post(path, data=body, headers=headers, **({"content_type": content_type} if content_type else {}))


def test_the_queue_route_answers_every_hostile_message_as_documented(worker, caplog):
    caplog.set_level(logging.ERROR)
    client = worker.test_client()
    answers = []
    for label, body, content_type in raw_bodies():
        allowed: dict[int, set[str] | None] = {413: None} if label == "oversize" else SQSD_ANSWERS
        answers.append(problem(post(client, "/", body, content_type, sqsd_headers()), f"POST / ({label})", allowed))
    for label, body in task_bodies():
        answers.append(problem(post(client, "/", body, "application/json", sqsd_headers()), f"POST / ({label})",
                               {200: {"done", "duplicate", "rejected"}}))
    for label, headers in hostile_headers():
        answers.append(problem(post(client, "/", "not json", "application/json", headers), f"POST / ({label})",
                               {200: {"rejected", "duplicate"}}))
    assert len(answers) > 300
    problems = [answer for answer in answers if answer]
    assert not problems, f"{len(problems)} of {len(answers)} answered badly:\n" + "\n".join(problems[:40])
    assert not [r for r in caplog.records if r.exc_info], [r.getMessage() for r in caplog.records if r.exc_info]


def test_a_rejected_hostile_message_keeps_its_reason_in_the_ledger(worker):
    from core.models import TaskLedger

    client = worker.test_client()
    for args in ({"upload_id": 10**30}, {"upload_id": {"id": 7}}, {"upload_id": nested(500)}):
        body = envelope_json("image.variants", args)
        response = post(client, "/", body, "application/json", sqsd_headers())
        assert response.get_json()["status"] == "rejected"
        with worker.extensions["database"].read() as session:
            row = session.get(TaskLedger, json.loads(body)["idempotency_key"])
        assert row.state == "rejected" and row.result == response.get_json()["reason"]
        assert "upload_id must be a whole number" in row.result


def test_the_periodic_routes_answer_every_hostile_delivery_as_documented(worker, caplog):
    caplog.set_level(logging.ERROR)
    client = worker.test_client()
    answers = []
    for name in PERIODIC_NAMES:
        for label, headers in hostile_headers():
            headers = {**headers, "X-Aws-Sqsd-Taskname": headers.get("X-Aws-Sqsd-Taskname", name),
                       "X-Aws-Sqsd-Scheduled-At": headers.get("X-Aws-Sqsd-Scheduled-At", str(uuid.uuid4()))}
            for body_label, body, content_type in list(raw_bodies())[:6]:
                what = f"POST /periodic/{name[:40]} ({label}, {body_label})"
                answers.append(problem(post(client, f"/periodic/{name}", body, content_type, headers), what,
                                       {200: {"done", "duplicate", "rejected"}, 404: None}))
    problems = [answer for answer in answers if answer]
    assert not problems, f"{len(problems)} of {len(answers)} answered badly:\n" + "\n".join(problems[:40])
    assert not [r for r in caplog.records if r.exc_info], [r.getMessage() for r in caplog.records if r.exc_info]


def worker_paths(app: Flask) -> Iterator[tuple[str, str]]:
    """(rule, path) for every rule of the worker's url_map, hostile values in its arguments."""
    for rule in app.url_map.iter_rules():
        if "<" not in rule.rule:
            yield rule.rule, rule.rule
            continue
        for value in PERIODIC_NAMES:
            yield rule.rule, re.sub(r"<[^>]+>", lambda _, value=value: value, rule.rule)


def test_every_route_refuses_whoever_is_not_sqsd(worker):
    client = worker.test_client()
    answers = []
    for rule, path in worker_paths(worker):
        for method in ("GET", "POST", "PUT", "DELETE", "PATCH"):
            for headers in NOT_SQSD:
                response = client.open(path, method=method, data=envelope_json(), headers=headers,
                                       content_type="application/json")
                if rule == "/healthz":  # the one route open to anyone: GET, liveness, nothing else
                    allowed: dict[int, set[str] | None] = {200: {"ok"}} if method == "GET" else {403: None}
                else:
                    allowed = {403: None}
                answers.append(problem(response, f"{method} {path[:60]} as {headers}", allowed))
    problems = [answer for answer in answers if answer]
    assert not problems, f"{len(problems)} of {len(answers)} answered badly:\n" + "\n".join(problems[:40])


def test_routes_and_methods_the_worker_lacks_are_clear_4xx_for_sqsd_too(worker):
    client = worker.test_client()
    for path in ("/no-such-route", "/periodic/", "/periodic/a/b", "/" + "a" * 5000, "/%00", "/..%2f..%2fetc"):
        response = post(client, path, envelope_json(), "application/json", sqsd_headers())
        assert problem(response, f"POST {path[:40]}", {404: None}) is None, response.get_data(as_text=True)[:200]
    for method in ("GET", "PUT", "DELETE", "PATCH"):
        for path in ("/", "/periodic/expire-ledger"):
            response = client.open(path, method=method, headers=sqsd_headers())
            assert problem(response, f"{method} {path}", {405: None}) is None, response.get_data(as_text=True)[:200]
