"""`make up`'s command, `eb_tools local`: sign up, log in and upload against the local cloud."""
from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import requests
from click.testing import CliRunner
from PIL import Image

from eb_tools.aws import wait_until
from eb_tools.cli import main
from eb_tools.cloud.server import free_port
from tests.cloud_clients import local_client
from tests.local_stage import (
    expected_environment,
    stage_outputs,
    stage_rows,
    tier_environments,
    undeclared,
    wait_started,
)
from tests.mail import verification_link

ROOT = Path(__file__).resolve().parent.parent
TOKEN = re.compile(r'name="csrf-token" content="([^"]+)"')

EB_SECONDS = "0.3"  # one step of an emulated EB operation: the instances' own work is what is waited for


def buckets(cloud: str) -> tuple[str, str]:
    """The local stage's uploads and backup buckets, as its stack names them."""
    outputs = stage_outputs(cloud)
    return outputs["UploadsBucket"], outputs["BackupBucket"]


def sent_emails(cloud: str) -> list[dict]:
    """What the emulated SES has sent, from moto's model-data endpoint."""
    data = requests.get(f"{cloud}/moto-api/data.json", timeout=5).json()
    return data.get("ses", {}).get("Message", [])


def traced_lines(cloud: str, trace: str, wanted: set[str]) -> list[dict]:
    """`eb_tools logs local --trace TRACE --output json`, once it shows a line starting with each of `wanted`."""
    shown = CliRunner().invoke(main, ["logs", "local", "--trace", trace, "--output", "json", "--file",
                                      str(ROOT / "eb_tools.yaml")], env={"AWS_ENDPOINT_URL": cloud})
    lines = json.loads(shown.output) if shown.exit_code == 0 else []  # until both tiers' groups exist
    found = {line["line"]["message"] for line in lines if isinstance(line["line"], dict)}
    return lines if all(any(m.startswith(w) for m in found) for w in wanted) else []


def run_the_product_once(tmp_path) -> tuple[str, bytes, requests.cookies.RequestsCookieJar, dict[str, str]]:
    """Start eb_tools local, use every part of the product, stop it; return the upload's key and bytes,
    the logged-in browser's cookies and the EB environments' ids by name."""
    port, cloud_port = free_port(), free_port()
    cloud = f"http://127.0.0.1:{cloud_port}"
    eb_tools = Path(sys.executable).parent / "eb_tools"
    proc = subprocess.Popen([str(eb_tools), "local", "--port", str(port), "--cloud-port", str(cloud_port),
                             "--data-dir", str(tmp_path / "state"), "--eb-seconds", EB_SECONDS], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    started = ""  # the start-up lines, once read
    try:
        started = wait_started(proc)
        served = requests.get(f"{base}/login", timeout=5)
        # nginx is in front (make test installs it) with the bundle's own headers and body limit
        assert served.headers["X-Content-Type-Options"] == "nosniff" and served.headers["X-Frame-Options"] == "DENY"
        too_big = requests.post(f"{base}/login", data=b"x" * (2 * 1024 * 1024), timeout=5)
        assert too_big.status_code == 413 and "nginx" in too_big.text
        browser = requests.Session()
        for page in ("/signup", "/login"):
            assert browser.get(base + page, timeout=5).status_code == 200
        token = TOKEN.search(browser.get(f"{base}/signup", timeout=5).text).group(1)
        signed_up = browser.post(f"{base}/signup", data={"email": "local@example.com", "password": "local pass 1",
                                                         "csrf_token": token}, timeout=5)
        assert signed_up.status_code == 200 and "Check your mail" in signed_up.text
        # The worker mails the link through the local SES; following it confirms the address and logs in.
        confirmed = browser.get(verification_link(cloud, "local@example.com"), timeout=5)
        assert confirmed.status_code == 200 and "Your images" in confirmed.text
        token = TOKEN.search(confirmed.text).group(1)

        image = io.BytesIO()
        Image.new("RGB", (300, 200), "blue").save(image, "JPEG")
        created = browser.post(f"{base}/uploads", json={"filename": "blue.jpg", "content_type": "image/jpeg",
                                                        "size": len(image.getvalue())},
                               headers={"X-CSRFToken": token}, timeout=5).json()
        sent = requests.post(created["post"]["url"], data=created["post"]["fields"],
                             files={"file": ("blue.jpg", image.getvalue())}, timeout=10)
        assert sent.status_code == 204
        def complete() -> requests.Response:
            return browser.post(base + created["complete_url"], json={}, headers={"X-CSRFToken": token}, timeout=5)

        def state() -> dict:
            return browser.get(f"{base}/uploads/{created['id']}", headers={"Accept": "application/json"},
                               timeout=5).json()

        completing = complete()
        done, trace = completing.json(), completing.headers["X-Request-Id"]  # the load balancer's trace Root
        assert (done["id"], done["state"], done["size"], done["url"]) == (created["id"], "uploaded",
                                                                          len(image.getvalue()), None)
        assert (complete().status_code, state()["state"]) == (409, "uploaded")  # a second one queues nothing

        # The worker, fed by the sqsd emulator, makes the variants, the copy pages serve, the backup and the email.
        wait_until(lambda: state()["state"] == "ready", 60, "the worker to make the upload ready")
        served = state()["url"]
        assert served in browser.get(f"{base}/uploads", timeout=5).text
        # Anonymously, as a browser: the CloudFront stand-in serves what the stage's bucket policy lets the
        # distribution read; the S3 endpoint refuses the same key to an anonymous browser.
        assert requests.get(served, timeout=5).content == image.getvalue()
        direct = f"{cloud}/{buckets(cloud)[0]}/variants/{served.split('/variants/', 1)[1]}"
        assert requests.get(direct, timeout=5).status_code == 403
        s3 = local_client("s3", cloud)
        uploads, backups = buckets(cloud)
        key = created["key"]
        assert requests.get(f"{cloud}/{uploads}/{key}", timeout=5).status_code == 403  # the form's key: never
        variants = f"variants/{key.removeprefix('uploads/').rsplit('.', 1)[0]}/"
        listed = sorted(o["Key"].rsplit("/", 1)[1] for o in
                        s3.list_objects_v2(Bucket=uploads, Prefix=variants)["Contents"])
        assert listed == ["original.jpg", "w200.jpg", "w200.webp", "w300.jpg", "w300.webp"]  # never upscaled
        wait_until(lambda: "Contents" in s3.list_objects_v2(Bucket=backups, Prefix=key), 60,
                   "the worker's backup copy")
        assert s3.get_object(Bucket=backups, Key=key)["Body"].read() == image.getvalue()
        wait_until(lambda: any(m.get("subject") == "Your image was received" and "local@example.com" in str(m)
                               for m in sent_emails(cloud)), 60, "the upload's email")
        # The completion's trace, from the web request through SQS into the worker's tasks, as both tiers'
        # instances streamed their JSON lines to CloudWatch Logs, each in its own instance's stream.
        wanted = {f"upload {done['id']} completed", "image.variants done", "email.send done"}
        traced = wait_until(lambda: traced_lines(cloud, trace, wanted), 30, "the upload's trace")
        assert all(line["line"]["tier"] == line["tier"] and line["line"]["instance"] == line["instance"]
                   for line in traced), traced

        # The local stage is an EB application with both environments on the bundle's version.
        eb = local_client("elasticbeanstalk", cloud)
        envs = eb.describe_environments(IncludeDeleted=False)["Environments"]
        assert sorted((e["Tier"]["Name"], e["Status"], e["Health"]) for e in envs) == [
            ("WebServer", "Ready", "Green"), ("Worker", "Ready", "Green")]
        assert len({e["VersionLabel"] for e in envs}) == 1
        ids = {e["EnvironmentName"]: e["EnvironmentId"] for e in envs}

        # Each tier's processes got their EB environment, the OS's share and the declared overrides, no more.
        running, expected = tier_environments(proc.pid), expected_environment(cloud)
        assert sorted(running) == ["web", "worker"]
        for tier in running:
            assert undeclared(running[tier], expected[tier]) == {}, tier
        # The account is in the stage's MariaDB, on its writer and its binary-log replica, at the stack's endpoints.
        assert "local@example.com" in stage_rows(cloud, "SELECT email FROM users", reader=False)
        wait_until(lambda: "local@example.com" in stage_rows(cloud, "SELECT email FROM users", reader=True), 30,
                   "the account on the read replica")
    finally:
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=30)
        output = started + output
        print(output)  # shown by pytest when the test fails
    assert f"web app:     {base}   (the load balancer: nginx -> each web instance's nginx -> gunicorn" in output
    assert "(a new stage)" in output
    cdn = re.search(r"^cdn:         (\S+)   \(CloudFront stand-in for (\w+)\)$", output, re.MULTILINE)
    assert cdn and cdn.group(1).endswith(f"/{cdn.group(2)}") and served.startswith(f"{cdn.group(1)}/variants/")
    instances = [url.rstrip(",") for line in output.splitlines() if line.startswith(("web tier:", "worker tier:"))
                 for url in line.split("   (")[0].split()[2:]]
    assert len(instances) == 3, output  # the local stage's min: two web instances, one worker
    for target in (base, *instances, cloud):
        try:
            requests.get(target, timeout=1)
            raise AssertionError(f"{target} still answers after Ctrl-C")
        except requests.ConnectionError:
            pass
    return key, image.getvalue(), browser.cookies, ids


def eb_events(cloud: str, environment: str, home: Path) -> str:
    """What `eb events ENVIRONMENT` prints, from a project `eb init` made for the stage's application."""
    project = home / "project"
    project.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "HOME": str(home), "AWS_ENDPOINT_URL": cloud, "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_MAX_ATTEMPTS": "1", "HTTPS_PROXY": "http://127.0.0.1:9", "NO_PROXY": "127.0.0.1,localhost"}
    for args in (["init", "-p", "python-3.11", "oppima", "--region", "us-east-1"], ["events", environment]):
        done = subprocess.run([str(Path(sys.executable).parent / "eb"), *args], cwd=project, env=env,
                              capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
        assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_a_run_serves_the_product_and_stops_on_ctrl_c_and_the_next_resumes_it(tmp_path):
    """The first run serves every part of the product and stops on Ctrl-C (run_the_product_once); started
    again on the same folder, the session, the account, the image and its variants are still there, and so are
    the EB environments (the same ids, the first run's events) and the mail sent."""
    key, original, cookies, ids = run_the_product_once(tmp_path)
    port, cloud_port = free_port(), free_port()
    proc = subprocess.Popen([str(Path(sys.executable).parent / "eb_tools"), "local", "--port", str(port),
                             "--cloud-port", str(cloud_port), "--data-dir", str(tmp_path / "state"),
                             "--eb-seconds", EB_SECONDS], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    started = ""  # the start-up lines, once read
    try:
        started = wait_started(proc)
        kept = requests.get(f"{base}/uploads", cookies=cookies, timeout=5, allow_redirects=False)
        assert kept.status_code == 200 and "blue.jpg" in kept.text  # still logged in: same secret key
        browser = requests.Session()
        token = TOKEN.search(browser.get(f"{base}/login", timeout=5).text).group(1)
        page = browser.post(f"{base}/login", data={"email": "local@example.com", "password": "local pass 1",
                                                   "csrf_token": token}, timeout=5)
        assert page.status_code == 200 and "blue.jpg" in page.text
        served = f"variants/{key.removeprefix('uploads/').rsplit('.', 1)[0]}/original.jpg"
        image_url = next(u for u in re.findall(r'(?:src|href)="([^"]+)"', page.text) if u.endswith(served))
        assert requests.get(image_url, timeout=5).content == original
        s3 = local_client("s3", f"http://127.0.0.1:{cloud_port}")
        uploads, _ = buckets(f"http://127.0.0.1:{cloud_port}")  # a new bucket, holding the last run's objects
        assert s3.list_objects_v2(Bucket=uploads, Prefix="variants/")["KeyCount"] == 5  # 4 variants, the original
        cloud = f"http://127.0.0.1:{cloud_port}"
        eb = local_client("elasticbeanstalk", cloud)
        assert eb.describe_application_versions()["ApplicationVersions"]
        envs = eb.describe_environments(IncludeDeleted=False)["Environments"]
        assert {e["EnvironmentName"]: e["EnvironmentId"] for e in envs} == ids  # provision found them, kept them
        assert sorted((e["Status"], e["Health"]) for e in envs) == [("Ready", "Green")] * 2
        queue = stage_outputs(cloud)["WorkerQueueUrl"]  # this run's: the kept worker was updated to it
        printed = eb_events(cloud, "oppima-local-web", tmp_path / "home")
        assert "createEnvironment is starting." in printed  # the first run's: this one made no environment
        assert printed.count("Successfully launched environment: oppima-local-web") == 1
        assert any(m.get("subject") == "Your image was received" and "local@example.com" in str(m)
                   for m in sent_emails(cloud))  # the first run's mail, at the moto API
    finally:
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=30)
        output = started + output
        print(output)
    # The upload, its 4 variants, its backup and the EB source bundle at least; both environments.
    restored = re.search(r"\((\d+) objects and messages and (\d+) EB environments with their events restored "
                         r"from the last run\)", output)
    assert f"worker feed: sqsd from {queue}" in output
    assert restored and int(restored.group(1)) >= 7 and restored.group(2) == "2", output
