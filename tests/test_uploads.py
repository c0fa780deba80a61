"""Direct-to-S3 uploads: the presigned policy, completion, the queued tasks, bad input."""
from __future__ import annotations

import io
import json

import pytest
import requests
from PIL import Image

from core.queue import Envelope
from tests.conftest import aws_client
from tests.helpers import csrf_token, sign_up

MAX = 50_000


def png_bytes(width: int = 64, height: int = 48) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 80, 40)).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def user(make_app):
    app = make_app(UPLOAD_MAX_BYTES=str(MAX), CDN_DOMAIN="cdn.example.net")
    browser = app.test_client()
    token = sign_up(browser, "ada@example.com")
    browser.environ_base["HTTP_X_CSRFTOKEN"] = token
    return browser


def presign(browser, content_type="image/png", size=1000, filename="cat.png"):
    return browser.post("/uploads", json={"filename": filename, "content_type": content_type, "size": size})


def post_to_s3(post: dict, body: bytes, **field_overrides: str) -> requests.Response:
    fields = {**post["fields"], **field_overrides}
    return requests.post(post["url"], data=fields, files={"file": ("cat.png", body)}, timeout=10)


def drain(cloud, queue_url: str) -> list[dict]:
    sqs = aws_client(cloud, "sqs")
    messages = []
    while True:
        batch = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                                    MessageAttributeNames=["All"]).get("Messages", [])
        if not batch:
            return messages
        messages.extend(batch)


def test_presigned_policy_is_enforced_by_s3(user, aws, cloud):
    created = presign(user)
    assert created.status_code == 201
    data = created.get_json()
    assert data["key"].startswith("uploads/") and data["key"].endswith(".png")

    oversize = post_to_s3(data["post"], b"\0" * (MAX + 1))
    assert oversize.status_code == 400 and "<Code>EntityTooLarge</Code>" in oversize.text

    wrong_type = post_to_s3(data["post"], png_bytes(), **{"Content-Type": "text/html"})
    assert wrong_type.status_code == 403
    assert "Policy Condition failed" in wrong_type.text and "Content-Type" in wrong_type.text

    other_key = post_to_s3(data["post"], png_bytes(), key="uploads/999/evil.png")
    assert other_key.status_code == 403

    good = post_to_s3(data["post"], png_bytes())
    assert good.status_code == 204, good.text
    head = aws_client(cloud, "s3").head_object(Bucket=aws["UPLOADS_BUCKET"], Key=data["key"])
    assert head["ContentType"] == "image/png"


def test_complete_queues_each_task_exactly_once(user, aws, cloud):
    data = presign(user).get_json()
    assert post_to_s3(data["post"], png_bytes()).status_code == 204

    done = user.post(data["complete_url"], json={})
    assert done.status_code == 200, done.get_data(as_text=True)
    assert done.get_json()["state"] == "uploaded"
    assert done.get_json()["url"] == f"https://cdn.example.net/{data['key']}"
    again = user.post(data["complete_url"], json={})
    assert again.status_code == 200 and again.get_json()["state"] == "uploaded"

    messages = drain(cloud, aws["WORKER_QUEUE_URL"])
    envelopes = sorted((Envelope.from_json(m["Body"]) for m in messages), key=lambda e: e.task)
    assert [e.task for e in envelopes] == ["email.send", "image.variants"]
    email, variants = envelopes
    assert variants.args == {"upload_id": data["id"]}
    assert variants.idempotency_key == f"upload:{data['id']}:variants"
    assert email.args["to"] == "ada@example.com" and email.args["template"] == "upload_received"
    assert {m["MessageAttributes"]["task"]["StringValue"] for m in messages} == {"email.send", "image.variants"}

    page = user.get("/uploads").get_data(as_text=True)
    assert f"https://cdn.example.net/{data['key']}" in page and "cat.png" in page


def test_complete_before_the_file_arrives_is_a_conflict(user, aws, cloud):
    data = presign(user).get_json()
    response = user.post(data["complete_url"], json={})
    assert response.status_code == 409 and "presigned" in response.get_json()["error"]
    assert drain(cloud, aws["WORKER_QUEUE_URL"]) == []


def test_other_users_upload_is_not_found(make_app, user, aws, cloud):
    data = presign(user).get_json()
    assert post_to_s3(data["post"], png_bytes()).status_code == 204
    intruder = make_app().test_client()
    intruder.environ_base["HTTP_X_CSRFTOKEN"] = sign_up(intruder, "mallory@example.com")
    for url in (data["complete_url"], "/uploads/987654/complete"):
        response = intruder.post(url, json={})
        assert response.status_code == 404
        assert response.is_json and "ada@example.com" not in response.get_data(as_text=True)
    assert data["key"] not in intruder.get("/uploads").get_data(as_text=True)
    assert drain(cloud, aws["WORKER_QUEUE_URL"]) == []


@pytest.mark.parametrize(
    ("body", "kwargs", "status", "words"),
    [
        ('{"filename": "a.png", ', {"content_type": "application/json"}, 400, "not a JSON object"),
        ("filename=a.png", {"content_type": "application/x-www-form-urlencoded"}, 415, "application/json"),
        (json.dumps([1, 2]), {"content_type": "application/json"}, 400, "not a JSON object"),
        (json.dumps({"filename": "a.svg", "content_type": "image/svg+xml", "size": 10}), {}, 400, "content_type"),
        (json.dumps({"filename": "a.html", "content_type": "text/html", "size": 10}), {}, 400, "content_type"),
        (json.dumps({"filename": "a.png", "content_type": "image/png", "size": MAX + 1}), {}, 413, "limit"),
        (json.dumps({"filename": "a.png", "content_type": "image/png", "size": "12"}), {}, 400, "size"),
        (json.dumps({"filename": "a.png", "content_type": "image/png", "size": 0}), {}, 400, "size"),
        (json.dumps({"filename": "../../etc/passwd", "content_type": "image/png", "size": 10}), {}, 400, "path"),
        (json.dumps({"filename": "..\\boot.ini", "content_type": "image/png", "size": 10}), {}, 400, "path"),
        (json.dumps({"filename": "a\u0000.png", "content_type": "image/png", "size": 10}), {}, 400, "control"),
        (json.dumps({"content_type": "image/png", "size": 10}), {}, 400, "filename"),
    ],
)
def test_bad_presign_requests_get_clear_json_errors(user, body, kwargs, status, words):
    response = user.post("/uploads", data=body, content_type=kwargs.get("content_type", "application/json"))
    assert response.status_code == status
    assert response.is_json and words in response.get_json()["error"]


def test_api_needs_login_and_csrf(make_app):
    anonymous = make_app().test_client()
    token = csrf_token(anonymous)
    response = anonymous.post("/uploads", json={"filename": "a.png", "content_type": "image/png", "size": 1},
                              headers={"X-CSRFToken": token})
    assert response.status_code == 401 and response.get_json()["error"] == "Log in first."
    browser = make_app().test_client()
    sign_up(browser, "noheader@example.com")
    no_token = browser.post("/uploads", json={"filename": "a.png", "content_type": "image/png", "size": 1})
    assert no_token.status_code == 400 and "CSRF" in no_token.get_json()["error"]


def test_pages_answer_html_errors(user):
    missing = user.get("/no-such-page")
    assert missing.status_code == 404 and missing.mimetype == "text/html"
    assert user.get("/uploads/1/complete").status_code == 405
