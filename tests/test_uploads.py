"""Direct-to-S3 uploads: the presigned policy, completion, the queued tasks, bad input, and what pages serve."""
from __future__ import annotations

import io
import json
from pathlib import Path
from urllib.parse import urlparse

import pytest
import requests
from PIL import Image

from core import storage
from core.models import Upload
from core.queue import Envelope
from core.uploads import completion_tasks
from eb_tools import stage_file as stages
from eb_tools.provision import stage_template
from eb_tools.provision import storage as stage_storage
from tests.conftest import aws_client
from tests.helpers import csrf_token, sign_up
from tests.sqsd_client import body as answer
from tests.sqsd_client import deliver

MAX = 50_000


def png_bytes(width: int = 64, height: int = 48, color: tuple[int, int, int] = (200, 80, 40)) -> bytes:
    """Uncompressed, so two images of one size and any colours have the same length."""
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, "PNG", compress_level=0)
    return out.getvalue()


@pytest.fixture
def user(make_app, aws, cloud):
    # Versioned, as the stage templates make the uploads bucket (eb_tools/provision/storage.py).
    aws_client(cloud, "s3").put_bucket_versioning(Bucket=aws["UPLOADS_BUCKET"],
                                                  VersioningConfiguration={"Status": "Enabled"})
    app = make_app(UPLOAD_MAX_BYTES=str(MAX), CDN_URL="https://cdn.example.net")
    browser = app.test_client()
    token = sign_up(browser, "ada@example.com")
    browser.environ_base["HTTP_X_CSRFTOKEN"] = token
    return browser


PNG_SIZE = len(png_bytes())


def presign(browser, content_type="image/png", size=PNG_SIZE, filename="cat.png"):
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
    # The range is the declared size, not merely the limit: a byte more or less is refused.
    longer = post_to_s3(data["post"], png_bytes() + b"\0")
    assert longer.status_code == 400 and "<Code>EntityTooLarge</Code>" in longer.text
    shorter = post_to_s3(data["post"], png_bytes()[:-1])
    assert shorter.status_code == 400 and "<Code>EntityTooSmall</Code>" in shorter.text

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
    assert done.get_json()["url"] is None  # nothing is served before the worker has checked it
    again = user.post(data["complete_url"], json={})  # a second completion queues nothing: 409, saying so
    assert again.status_code == 409 and again.get_json()["state"] == "uploaded"
    assert "already completed" in again.get_json()["error"] and again.get_json()["upload"]["id"] == data["id"]

    messages = drain(cloud, aws["WORKER_QUEUE_URL"])
    envelopes = sorted((Envelope.from_json(m["Body"]) for m in messages), key=lambda e: e.task)
    assert [e.task for e in envelopes] == ["email.send", "image.variants"]
    email, variants = envelopes
    assert variants.args == {"upload_id": data["id"]}
    assert variants.idempotency_key == f"upload:{data['id']}:variants"
    assert email.args["to"] == "ada@example.com" and email.args["template"] == "upload_received"
    assert {m["MessageAttributes"]["task"]["StringValue"] for m in messages} == {"email.send", "image.variants"}

    page = user.get("/uploads").get_data(as_text=True)
    assert f'data-upload-id="{data["id"]}" data-state="uploaded"' in page and "cat.png" in page
    assert "processing" in page and data["key"] not in page


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


def served_bytes(cloud, aws, url: str) -> bytes:
    """What the CDN URL serves: the object at its path in the uploads bucket."""
    key = urlparse(url).path.lstrip("/")
    return aws_client(cloud, "s3").get_object(Bucket=aws["UPLOADS_BUCKET"], Key=key)["Body"].read()


def run_variants(make_app, upload_id: int, key: str | None = None):
    """The worker's image.variants for the upload, as completion queued it (or under another key)."""
    worker = make_app(APP_ROLE="worker", UPLOAD_MAX_BYTES=str(MAX), CDN_URL="https://cdn.example.net")
    envelope = completion_tasks(upload_id, "ada@example.com")[0]
    if key:
        envelope = Envelope(envelope.task, envelope.args, idempotency_key=key)
    return deliver(worker.test_client(), envelope)


def test_a_validated_image_cannot_be_swapped(make_app, user, aws, cloud):
    """The presigned form stays valid until it expires. Whatever is POSTed with it after completion, before
    or after the worker ran, pages serve exactly the bytes the worker checked."""
    original, swap, later = (png_bytes(color=c) for c in ((200, 0, 0), (0, 0, 200), (0, 200, 0)))
    assert len(original) == len(swap) == len(later)
    data = presign(user).get_json()
    assert post_to_s3(data["post"], original).status_code == 204
    assert user.post(data["complete_url"], json={}).get_json()["url"] is None
    assert post_to_s3(data["post"], swap).status_code == 204  # before the worker: the form still works
    assert answer(run_variants(make_app, data["id"]))["status"] == "done"

    ready = user.get(f"/uploads/{data['id']}").get_json()
    assert ready["state"] == "ready" and ready["url"].startswith("https://cdn.example.net/variants/")
    assert served_bytes(cloud, aws, ready["url"]) == original
    assert ready["url"] in user.get("/uploads").get_data(as_text=True)
    variant = storage.variant_key(data["key"], 64, "webp")
    pixel = Image.open(io.BytesIO(served_bytes(cloud, aws, f"https://cdn.example.net/{variant}"))).getpixel((5, 5))
    assert pixel[0] > 150 and pixel[2] < 60  # made from the original (red), not the swap (blue)
    backup = aws_client(cloud, "s3").get_object(Bucket=aws["BACKUP_BUCKET"], Key=data["key"])["Body"].read()
    assert backup == original

    assert post_to_s3(data["post"], later).status_code == 204  # after the worker: changes nothing served
    assert served_bytes(cloud, aws, user.get(f"/uploads/{data['id']}").get_json()["url"]) == original
    assert answer(run_variants(make_app, data["id"]))["status"] == "duplicate"
    assert answer(run_variants(make_app, data["id"], key="forced-rerun"))["status"] == "done"  # the same version
    assert served_bytes(cloud, aws, ready["url"]) == original


def test_completion_records_the_version_it_found(user, aws, cloud):
    data = presign(user).get_json()
    assert post_to_s3(data["post"], png_bytes()).status_code == 204
    found = aws_client(cloud, "s3").head_object(Bucket=aws["UPLOADS_BUCKET"], Key=data["key"])["VersionId"]
    assert user.post(data["complete_url"], json={}).status_code == 200
    with user.application.extensions["database"].read() as session:
        assert session.get(Upload, data["id"]).s3_version_id == found


def test_the_stage_serves_only_the_prefix_the_worker_writes():
    """CloudFront may read only the served prefix of the uploads bucket, which the worker writes and the web
    tier cannot; the bucket is versioned; core/storage.py and the stage template agree on the prefixes."""
    assert (stage_storage.INCOMING_PREFIX, stage_storage.SERVED_PREFIX) == (storage.INCOMING_PREFIX,
                                                                            storage.SERVED_PREFIX)
    file = stages.load(Path(__file__).resolve().parent.parent / "eb_tools.yaml")
    resources = stage_template(file, "production")["Resources"]
    assert resources["UploadsBucket"]["Properties"]["VersioningConfiguration"] == {"Status": "Enabled"}
    reads = [s for s in resources["UploadsBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
             if s["Effect"] == "Allow"]
    assert [(s["Principal"], s["Resource"]["Fn::Join"][1][1]) for s in reads] == [
        ({"Service": "cloudfront.amazonaws.com"}, f"/{storage.SERVED_PREFIX}*")]

    def writable(tier: str) -> list[str]:
        statements = resources[f"{tier}InstancePolicy"]["Properties"]["PolicyDocument"]["Statement"]
        return [s["Resource"][0]["Fn::Join"][1][1] for s in statements if "s3:PutObject" in s["Action"]
                and "UploadsBucket" in json.dumps(s["Resource"])]

    assert writable("Web") == [f"/{storage.INCOMING_PREFIX}*"]
    assert writable("Worker") == [f"/{storage.SERVED_PREFIX}*"]
    assert storage.new_key(7, "image/png").startswith(storage.INCOMING_PREFIX)
    assert storage.served_original_key("uploads/7/abc.png") == "variants/7/abc/original.png"
    assert storage.variant_key("uploads/7/abc.png", 800, "webp").startswith(storage.SERVED_PREFIX)


def small_png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (30, 120, 200)).save(out, "PNG")
    return out.getvalue()


def uploaded(user, body: bytes, filename: str = "wide.png") -> dict:
    """Presigned, sent to S3 and completed: the answer of POST /uploads."""
    data = presign(user, size=len(body), filename=filename).get_json()
    assert post_to_s3(data["post"], body).status_code == 204
    assert user.post(data["complete_url"], json={}).status_code == 200
    return data


def test_state_tells_the_page_which_variants_exist(make_app, user, aws, cloud):
    """GET /uploads/<id>: pending, then processing, then ready with the widths the worker made (never
    upscaled, so they depend on the image) as CDN URLs and a srcset per type; the page lists the same."""
    body = small_png(1000, 500)
    data = presign(user, size=len(body)).get_json()
    pending = user.get(f"/uploads/{data['id']}").get_json()
    assert (pending["state"], pending["variants"], pending["src"], pending["srcset"]) == ("pending", [], None, {})
    assert post_to_s3(data["post"], body).status_code == 204
    assert user.post(data["complete_url"], json={}).status_code == 200
    assert user.get(f"/uploads/{data['id']}").get_json()["state"] == "uploaded"
    assert answer(run_variants(make_app, data["id"]))["status"] == "done"

    ready = user.get(f"/uploads/{data['id']}").get_json()
    assert ready["state"] == "ready" and ready["reason"] is None and ready["filename"] == "cat.png"
    assert sorted((v["type"], v["width"]) for v in ready["variants"]) == [
        (t, w) for t in ("image/jpeg", "image/webp") for w in (200, 800, 1000)]
    for variant in ready["variants"]:
        assert variant["url"].startswith("https://cdn.example.net/variants/")
        made = Image.open(io.BytesIO(served_bytes(cloud, aws, variant["url"])))
        assert made.width == variant["width"] and made.get_format_mimetype() == variant["type"]
    assert ready["src"] == "https://cdn.example.net/" + storage.variant_key(data["key"], 800, "jpg")
    assert ready["srcset"]["image/webp"] == ", ".join(
        f"https://cdn.example.net/{storage.variant_key(data['key'], w, 'webp')} {w}w" for w in (1000, 800, 200))
    page = user.get("/uploads").get_data(as_text=True)
    assert f'<source type="image/webp" srcset="{ready["srcset"]["image/webp"]}"' in page
    assert f'<img src="{ready["src"]}" srcset="{ready["srcset"]["image/jpeg"]}" sizes="{ready["sizes"]}"' in page


def test_state_of_a_rejected_image_says_why(make_app, user):
    data = uploaded(user, b"not a picture at all, only text" * 10, filename="notes.png")
    assert answer(run_variants(make_app, data["id"]))["status"] == "rejected"
    failed = user.get(f"/uploads/{data['id']}").get_json()
    assert failed["state"] == "failed" and "not an image file" in failed["reason"]
    assert failed["variants"] == [] and failed["src"] is None
    assert "rejected: not an image file" in user.get("/uploads").get_data(as_text=True)


def test_state_and_cancel_are_for_the_owner_only(make_app, user):
    data = presign(user).get_json()
    intruder = make_app().test_client()
    intruder.environ_base["HTTP_X_CSRFTOKEN"] = sign_up(intruder, "mallory@example.com")
    for response in (intruder.get(f"/uploads/{data['id']}", headers={"Accept": "application/json"}),
                     intruder.delete(f"/uploads/{data['id']}"), user.get("/uploads/987654", headers={
                         "Accept": "application/json"}), user.delete("/uploads/987654")):
        assert response.status_code == 404 and "No upload" in response.get_json()["error"]
    anonymous = make_app().test_client()
    assert anonymous.get(f"/uploads/{data['id']}", headers={"Accept": "application/json"}).status_code == 401
    assert user.get(f"/uploads/{data['id']}").get_json()["state"] == "pending"  # still there


def test_cancel_forgets_a_pending_upload_whose_file_never_arrived(user, aws, cloud):
    """What the page calls when S3 refused the file: nothing of the upload is left."""
    refused = presign(user).get_json()
    assert post_to_s3(refused["post"], png_bytes() + b"\0").status_code == 400  # S3 said no
    assert user.delete(f"/uploads/{refused['id']}").status_code == 204
    with user.application.extensions["database"].read() as session:
        assert session.get(Upload, refused["id"]) is None
    assert user.get(f"/uploads/{refused['id']}", headers={"Accept": "application/json"}).status_code == 404

    arrived = presign(user).get_json()
    assert post_to_s3(arrived["post"], png_bytes()).status_code == 204
    in_bucket = user.delete(f"/uploads/{arrived['id']}")
    assert in_bucket.status_code == 409 and "complete the upload instead" in in_bucket.get_json()["error"]
    assert user.post(arrived["complete_url"], json={}).status_code == 200
    completed = user.delete(f"/uploads/{arrived['id']}")
    assert completed.status_code == 409 and "only a pending upload" in completed.get_json()["error"]
    assert user.get(f"/uploads/{arrived['id']}").get_json()["state"] == "uploaded"
    assert len(drain(cloud, aws["WORKER_QUEUE_URL"])) == 2  # the completed one's tasks; none for the other


def test_policy_admits_the_cdn_origin_for_images_and_the_bucket_for_uploads(make_app):
    """The page's script POSTs to the bucket's origin and shows images from the CDN's: origins only, from
    the settings (a CDN base with a path, as the local CloudFront stand-in's, gives its origin)."""
    browser = make_app(CDN_URL="http://127.0.0.1:9/E2EXAMPLE").test_client()
    browser.environ_base["HTTP_X_CSRFTOKEN"] = sign_up(browser, "csp@example.com")
    post_url = presign(browser).get_json()["post"]["url"]
    csp = dict(part.split(" ", 1) for part in browser.get("/uploads").headers["Content-Security-Policy"].split("; "))
    assert csp["img-src"].split() == ["'self'", "http://127.0.0.1:9"]
    assert csp["connect-src"].split() == ["'self'", "{0.scheme}://{0.netloc}".format(urlparse(post_url))]
