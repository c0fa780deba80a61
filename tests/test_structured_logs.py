"""The apps' log lines: one JSON object each, with the fields the README lists, and one trace followed from a web
request through a real envelope on the queue into the worker's lines for the task."""
from __future__ import annotations

import io
import json
import logging
import re
import uuid
from collections.abc import Iterator

import pytest

from core import logs
from core.queue import Envelope
from tests.helpers import csrf_token, queued_mail
from tests.sqsd_client import body, deliver, sqsd_headers

TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
ROOT_ID = "1-67891233-abcdef012345678912345678"


@pytest.fixture
def lines() -> Iterator[io.StringIO]:
    """What the apps log meanwhile, as the JSON lines their handler writes (tier and instance as on an instance)."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logs.JsonFormatter("web", "i-0123456789abcdef0"))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield out
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def parsed(out: io.StringIO) -> list[dict]:
    """The apps' own lines (the AWS SDK's, which the apps hold at WARNING, left out)."""
    found = [json.loads(line) for line in out.getvalue().splitlines()]
    return [line for line in found if line["logger"].startswith(("web", "worker", "core"))]


def test_a_record_is_one_json_line_with_its_fields_and_its_traceback(lines):
    with logs.bound(request_id="r-1", trace_id=ROOT_ID):
        try:
            raise ValueError("bad\nvalue")
        except ValueError:
            logging.getLogger("web.uploads").exception("upload %s failed", 7, extra={"upload_id": 7})
    logging.getLogger("web.auth").warning("outside any request")
    failed, outside = lines.getvalue().splitlines()  # one line each, the traceback's newlines escaped
    record = json.loads(failed)
    assert TIME.fullmatch(record.pop("time"))
    assert record.pop("exception").startswith("Traceback") and "ValueError: bad\nvalue" in failed.replace("\\n", "\n")
    assert record == {"level": "ERROR", "logger": "web.uploads", "message": "upload 7 failed", "tier": "web",
                      "instance": "i-0123456789abcdef0", "request_id": "r-1", "trace_id": ROOT_ID, "upload_id": 7}
    assert "trace_id" not in json.loads(outside) and json.loads(outside)["level"] == "WARNING"


def test_the_instance_id_is_read_from_cloud_inits_cache(tmp_path):
    cache = tmp_path / "instance-data.json"
    assert logs.instance_id(cache) is None  # off an instance
    for unreadable in ("{", '{"v1": "i-0abc"}', "[]"):
        cache.write_text(unreadable)
        assert logs.instance_id(cache) is None
    cache.write_text(json.dumps({"v1": {"cloud_name": "aws", "instance_id": "i-0abc"}}))
    assert logs.instance_id(cache) == "i-0abc"


def test_the_trace_is_the_load_balancers_root_or_a_new_id_of_its_form():
    assert logs.trace_id_of(f"Root={ROOT_ID}") == ROOT_ID
    assert logs.trace_id_of(f"Self=1-67891234-000000000000000000000000;Root={ROOT_ID};CalledFrom=app") == ROOT_ID
    for header in (None, "", "Root=<script>", f"Root={ROOT_ID}x", "Root=1-2-3"):
        made = logs.trace_id_of(header)
        assert re.fullmatch(r"1-[0-9a-f]{8}-[0-9a-f]{24}", made) and made != ROOT_ID


def test_a_web_requests_trace_reaches_the_workers_lines_through_the_envelope(make_app, lines):
    """The load balancer's Root names the request's lines, its answer and the envelope it queues; the worker's
    lines for the task carry it, with the task, its key and sqsd's message id."""
    web, worker = make_app(), make_app(APP_ROLE="worker")
    browser = web.test_client()
    email = f"trace-{uuid.uuid4().hex[:8]}@example.com"
    token = csrf_token(browser, "/signup")
    answer = browser.post("/signup", data={"email": email, "password": "correct horse", "csrf_token": token},
                          headers={"X-Amzn-Trace-Id": f"Self=1-67891234-000000000000000000000000;Root={ROOT_ID}"})
    assert answer.status_code == 200 and answer.headers["X-Request-Id"] == ROOT_ID
    web_lines = [line for line in parsed(lines) if line.get("trace_id") == ROOT_ID]
    assert [(line["message"], line["request_id"]) for line in web_lines] == [("queued email.send", ROOT_ID)]

    (envelope,) = queued_mail(web, email)  # off the queue, as the worker's sqsd takes it
    assert envelope.trace_id == ROOT_ID
    msgid = str(uuid.uuid4())
    done = worker.test_client().post("/", data=envelope.to_json(), content_type="application/json",
                                     headers=sqsd_headers(msgid))
    assert body(done)["status"] == "done"
    task_line = next(line for line in parsed(lines) if line["message"] == "email.send done")
    assert (task_line["trace_id"], task_line["task"], task_line["idempotency_key"], task_line["request_id"]) == (
        ROOT_ID, "email.send", envelope.idempotency_key, msgid)
    unnamed = browser.get("/healthz").headers["X-Request-Id"]  # no header: an id of its own, of the Root's form
    assert re.fullmatch(r"1-[0-9a-f]{8}-[0-9a-f]{24}", unnamed) and unnamed != ROOT_ID


def test_an_envelope_without_a_trace_id_still_runs_under_a_trace_of_its_own(make_app, lines):
    """Messages queued before the trace id existed: the worker runs them, its lines under a new trace."""
    old = json.loads(Envelope("email.send", {"to": "ada@example.com", "template": "daily_digest",
                                             "date": "2026-11-24", "count": 1}).to_json())
    del old["trace_id"]
    answer = deliver(make_app(APP_ROLE="worker").test_client(), json.dumps(old))
    assert body(answer)["status"] == "done"
    (line,) = [line for line in parsed(lines) if line["message"] == "email.send done"]
    assert line["idempotency_key"] == old["idempotency_key"] and re.fullmatch(r"1-[0-9a-f]{8}-[0-9a-f]{24}",
                                                                              line["trace_id"])
