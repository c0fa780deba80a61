"""The uploads page in headless Chromium against `eb_tools local` (issue 17): an image goes from the file
picker straight to the emulated S3, the worker makes its variants, and the page shows them from the CDN
without a reload; every refusal, the page's own and the stage's, is a message in the page that leaves
nothing behind.
"""
from __future__ import annotations

import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from PIL import Image

from eb_tools.aws import LOCAL_ACCESS_KEY, LOCAL_SECRET_KEY, wait_until
from eb_tools.bundle import included_files
from tests.cloud_clients import local_client
from tests.e2e.conftest import ACCOUNT_EMAIL, ROOT, LocalRun, log_in, submit_credentials
from tests.e2e.stage_ops import choose_policies, served_version, watching, web_masters
from tests.local_stage import stage_outputs
from tests.mail import verification_link

MESSAGE = "#upload-messages li.error"
READY = 'li.upload[data-state="ready"]'
# Chromium's console line for a request answered with an error status: the expected trace of a refusal.
REFUSED = r"Failed to load resource: the server responded with a status of {}"


def noisy_jpeg(width: int, height: int) -> bytes:
    """A real photo-like JPEG (noise compresses badly), large enough that its bytes would show in any log."""
    out = io.BytesIO()
    Image.merge("RGB", [Image.effect_noise((width, height), 60 + 20 * band) for band in range(3)]).save(
        out, "JPEG", quality=92)
    return out.getvalue()


def uploads_of(local_run: LocalRun, user_id: int) -> list[tuple]:
    return local_run.query("SELECT id, state, filename FROM uploads WHERE user_id = %s ORDER BY id", user_id)


def card(name: str, state: str = "ready") -> str:
    """The selector of the image of that name in that state."""
    return f'li.upload[data-state="{state}"]:has(span.name:text-is("{name}"))'


def pick(page: Any, name: str, mime: str, data: bytes) -> None:
    """Choose a file in the page's picker and press Upload, as a user does."""
    page.set_input_files("#file", files=[{"name": name, "mimeType": mime, "buffer": data}])
    page.click("#upload-form button[type=submit]")


def image_urls(page: Any) -> list[str]:
    """Every image URL in the page: img src, and each srcset entry of imgs and picture sources."""
    return page.evaluate("""() => {
        const urls = [];
        document.querySelectorAll("img").forEach(img => urls.push(img.currentSrc, img.getAttribute("src")));
        document.querySelectorAll("img[srcset], picture source[srcset]").forEach(el =>
            el.getAttribute("srcset").split(",").forEach(entry => urls.push(entry.trim().split(/\\s+/)[0])));
        return urls.filter(Boolean);
    }""")


def test_an_image_goes_straight_to_s3_and_is_shown_from_the_cdn(local_run, account, watched, tmp_path):
    page = watched.page
    cdn = local_run.cdn
    photo = noisy_jpeg(1200, 900)
    page.goto(f"{local_run.base}/uploads")
    log_start = len(local_run.access_log())
    page.evaluate("""() => new MutationObserver(() => {
        if (document.querySelector("li.upload progress")) window.sawProgress = true;
    }).observe(document.getElementById("uploads"), {childList: true, subtree: true})""")
    pick(page, "holiday.jpg", "image/jpeg", photo)
    ready = page.wait_for_selector(READY, timeout=60_000)  # polled into place by GET /uploads/<id>, no reload
    page.wait_for_function("""() => [...document.querySelectorAll("li.upload img")]
        .every(img => img.complete && img.naturalWidth > 0)""")
    assert ready.query_selector(".state").inner_text() == "ready"
    assert page.evaluate("() => window.sawProgress === true")  # the bar showed while the file went to S3
    assert page.locator(MESSAGE).count() == 0

    # (a) The file is in the emulated S3, under the user's prefix, byte for byte.
    stored = local_run.keys(f"uploads/{account}/")
    assert list(stored.values()) == [len(photo)], stored
    key = next(iter(stored))
    assert local_run.s3.get_object(Bucket=local_run.uploads_bucket, Key=key)["Body"].read() == photo

    # (b) No request that reached the web app carried the file: nginx logs each request's length last.
    lines = local_run.access_log()[log_start:]
    lengths = {line: int(line.rsplit(" ", 1)[1]) for line in lines}
    assert any('"POST /uploads HTTP' in line for line in lines) and any("/complete HTTP" in line for line in lines)
    assert any(re.search(r'"GET /uploads/\d+ HTTP', line) for line in lines)  # the page polled its state
    assert max(lengths.values()) < 16_384 < len(photo), max(lengths.items(), key=lambda item: item[1])

    # (c) Every image URL in the page is the CDN's: src, srcset entries and the picture's WebP source.
    urls = image_urls(page)
    sources = page.eval_on_selector_all(f"{READY} picture source", "els => els.map(e => e.type)")
    assert sources == ["image/webp"] and len(urls) >= 2 * 3
    assert all(url.startswith(cdn + "/") for url in urls), (cdn, urls)
    widths = sorted({int(w) for w in re.findall(r" (\d+)w", page.get_attribute(f"{READY} img", "srcset"))})
    assert widths == [200, 800, 1200]  # never upscaled: the image's own width is the largest

    # The same markup after a reload, rendered by the server this time.
    page.reload()
    page.wait_for_selector(f"{READY} picture source[type='image/webp']", state="attached")
    assert all(url.startswith(cdn + "/") for url in image_urls(page))
    shot = tmp_path / "uploads-ready.png"
    page.screenshot(path=str(shot), full_page=True)
    print(f"screenshot of the ready page: {shot}")


def test_eb_logs_of_the_local_stage_are_its_processes_logs(local_run, tmp_path):
    """`eb logs` against `eb_tools local` (`make up`): the bundle streams its logs (StreamLogs true in
    .ebextensions), so the eb CLI reads CloudWatch Logs, where the local stage's real web.stdout.log (the
    gunicorn tier's output) and nginx access log arrive, each instance's in its own stream. (Here, on the
    module's local stage, where it needs nothing of its own.)"""
    work = tmp_path / "project"
    work.mkdir()
    env = {**os.environ, "HOME": str(tmp_path), "AWS_ENDPOINT_URL": local_run.cloud, "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_ACCESS_KEY_ID": LOCAL_ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": LOCAL_SECRET_KEY, "AWS_MAX_ATTEMPTS": "1"}

    def eb(*args: str) -> str:
        """What `eb` printed; until the first lines are shipped, the log group does not exist yet."""
        done = subprocess.run([str(Path(sys.executable).parent / "eb"), *args], cwd=work, env=env,
                              capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
        assert done.returncode == 0 or "log group does not exist" in done.stdout, done.stdout + done.stderr
        return done.stdout

    for _ in range(6):  # the load balancer spreads them over the instances, each streaming its own access log
        assert requests.get(f"{local_run.base}/healthz?from=eb-logs-test", timeout=5).status_code == 200
    eb("init", "-p", "python-3.11", "oppima", "--region", "us-east-1")
    wait_until(lambda: "Booting worker" in eb("logs", "oppima-local-web", "--log-group", "/var/log/web.stdout.log"),
               30, "gunicorn's output in eb logs")
    wait_until(lambda: "from=eb-logs-test" in eb("logs", "oppima-local-web", "--log-group",
                                                  "/var/log/nginx/access.log"), 30, "the request in nginx's access log")


def operate(local_run: LocalRun, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """`eb_tools ARGS` against the module's local stage, as an operator runs it with the cloud's exports."""
    env = {**os.environ, "AWS_ENDPOINT_URL": local_run.cloud, "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_ACCESS_KEY_ID": LOCAL_ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": LOCAL_SECRET_KEY,
           "EB_TOOLS_POLL_SECONDS": "0.2"}
    return subprocess.run([str(Path(sys.executable).parent / "eb_tools"), *args], cwd=ROOT, env=env, input=stdin,
                          capture_output=True, text=True, timeout=120)


def test_run_and_shell_reach_an_instance_through_systems_manager(local_run):
    """`eb_tools run` and `eb_tools shell` (issue 28, no SSH anywhere): Run Command and Session Manager on the
    local stage's real instances, in the app's directory with its properties and secrets, the command's exit
    status the verb's."""
    ran = operate(local_run, "run", "local", "--", 'echo "stage=$STAGE role=$APP_ROLE"; pwd; '
                  'test -n "$SECRET_KEY" && echo the secret key is set; exit 3')
    assert ran.returncode == 3, ran.stderr
    assert ran.stdout.splitlines() == ["stage=local role=worker", "/var/app/current", "the secret key is set"]
    missing = operate(local_run, "run", "local", "--tier", "web", "--output", "json", "--", "no-such-program", "-x")
    report = json.loads(missing.stdout)
    web = {i["Id"] for i in local_client("elasticbeanstalk", local_run.cloud).describe_environment_resources(
        EnvironmentName="oppima-local-web")["EnvironmentResources"]["Instances"]}
    assert (missing.returncode, report["exit_code"], report["environment"]) == (127, 127, "oppima-local-web")
    assert report["instance"] in web
    assert missing.stderr == f"command not found on {report['instance']}: no-such-program\n"
    session = operate(local_run, "shell", "local", stdin='pwd\necho "role=$APP_ROLE"\nexit\n')
    assert session.returncode == 0, session.stderr
    assert "\n/var/app/current\n" in session.stdout and "\nrole=worker\n" in session.stdout  # CR LF read as text


def test_the_data_verbs_read_the_private_database_through_a_worker_instance(local_run, account):
    """In AWS the database and a drill's copy answer only inside the VPC: the snapshot's figures and the
    drill's verification are read on a worker instance through Run Command, with the app's secret."""
    taken = operate(local_run, "db", "snapshot", "local")
    assert taken.returncode == 0, taken.stderr
    assert "its figures read through worker instance i-" in taken.stdout, taken.stdout
    drilled = operate(local_run, "db", "restore", "local", "--drill", "--output", "json")
    report = json.loads(drilled.stdout)
    assert drilled.returncode == 0 and report["passed"] and report["compared"], drilled.stdout + drilled.stderr
    assert report["read"].startswith("through worker instance i-")


def test_run_refuses_bad_input_in_one_line(local_run):
    """An unknown tier or instance, a stage not provisioned, an instance Systems Manager does not manage."""
    tier = operate(local_run, "run", "local", "--tier", "db", "--", "true")
    assert tier.returncode == 2 and "Invalid value for '--tier': 'db' is not one of 'web', 'worker'" in tier.stderr
    unknown = operate(local_run, "run", "local", "--instance", "i-0nothere", "--", "true")
    assert (unknown.returncode, unknown.stderr.startswith("Error: unknown instance i-0nothere: stage local's worker "
                                                          "environment oppima-local-worker runs i-")) == (1, True)
    absent = operate(local_run, "run", "staging", "--", "true")
    assert absent.stderr == ("Error: stage staging is not provisioned: it has no worker environment "
                             "oppima-staging-worker; run eb_tools provision staging\n")
    iam = local_client("iam", local_run.cloud)
    role = stage_outputs(local_run.cloud)["WorkerInstanceProfile"]
    role = iam.get_instance_profile(InstanceProfileName=role)["InstanceProfile"]["Roles"][0]["RoleName"]
    policy = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
    iam.detach_role_policy(RoleName=role, PolicyArn=policy)
    try:
        unmanaged = operate(local_run, "run", "local", "--", "true")
    finally:
        iam.attach_role_policy(RoleName=role, PolicyArn=policy)
    assert unmanaged.returncode == 1 and len(unmanaged.stderr.splitlines()) == 1
    assert "is not managed by Systems Manager (no agent registered it): its instance profile needs AWS's " \
           "AmazonSSMManagedInstanceCore policy" in unmanaged.stderr


def test_files_the_page_can_check_are_refused_before_anything_is_sent(local_run, account, watched):
    page = watched.page
    page.goto(f"{local_run.base}/uploads")
    limit = int(page.get_attribute("#upload-form", "data-max-bytes"))
    before_rows, before_keys = uploads_of(local_run, account), local_run.keys(f"uploads/{account}/")
    sent: list[str] = []
    page.on("request", lambda request: request.method != "GET" and sent.append(f"{request.method} {request.url}"))

    pick(page, "huge.jpg", "image/jpeg", b"\xff\xd8\xff" + b"\0" * (limit - 2))
    assert page.locator(MESSAGE).inner_text() == (
        f"huge.jpg is {limit + 1} bytes, over the limit of {limit} bytes ({limit / 1048576:.1f} MiB). "
        "Pick a smaller image; nothing was sent.")
    pick(page, "notes.txt", "text/plain", b"not an image\n")
    assert page.locator(MESSAGE).inner_text() == (
        "notes.txt is not an image we accept (JPEG, PNG, WebP or GIF); nothing was sent.")
    page.wait_for_timeout(300)
    assert sent == []
    assert (uploads_of(local_run, account), local_run.keys(f"uploads/{account}/")) == (before_rows, before_keys)


def test_what_the_page_lets_through_the_stage_still_refuses(local_run, account, watched):
    """With the page's checks bypassed: S3's POST policy refuses a file longer than declared, and the worker
    rejects a file that only claims to be an image, which the page shows with the worker's reason."""
    page = watched.page
    page.goto(f"{local_run.base}/uploads")
    limit = int(page.get_attribute("#upload-form", "data-max-bytes"))
    before_keys = local_run.keys(f"uploads/{account}/")
    before_rows = uploads_of(local_run, account)

    # The page's limit raised, and the size the page declares cut to the limit on its way to the web app.
    page.eval_on_selector("#upload-form", "form => { form.dataset.maxBytes = String(1e12); }")

    def declare_the_limit(route: Any) -> None:
        if route.request.method != "POST":
            return route.continue_()
        body = {**json.loads(route.request.post_data), "size": limit}
        return route.continue_(post_data=json.dumps(body))

    page.route(f"{local_run.base}/uploads", declare_the_limit)
    watched.allow(REFUSED.format(400))  # S3's answer to the POST
    pick(page, "huge.jpg", "image/jpeg", b"\xff\xd8\xff" + b"\0" * (limit - 2))
    message = page.wait_for_selector(MESSAGE).inner_text()
    assert message.startswith("The storage refused huge.jpg:") and "(EntityTooLarge)" in message, message
    page.wait_for_function("() => !document.querySelector('li.upload[data-state=\"pending\"]')")
    assert local_run.keys(f"uploads/{account}/") == before_keys
    assert uploads_of(local_run, account) == before_rows  # the page cancelled the pending upload
    page.unroute(f"{local_run.base}/uploads")

    page.reload()
    pick(page, "fake.png", "image/png", b"<svg onload=alert(1)></svg>" + b" " * 200)
    rejected = page.wait_for_selector(card("fake.png", "failed"), timeout=60_000)
    assert rejected.query_selector(".state").inner_text() == (
        "rejected: not an image file (JPEG, PNG, WebP or GIF expected)")
    assert rejected.query_selector("img") is None
    assert uploads_of(local_run, account)[-1][1:] == ("failed", "fake.png")


def test_refusals_after_the_form_are_messages_in_the_page(local_run, account, watched):
    """A form used after it expired (S3 refuses it), a second completion (409, nothing queued again) and a
    completion for a file that never reached the bucket (409): each a message; nothing pending is left."""
    page = watched.page
    page.goto(f"{local_run.base}/uploads")
    photo = noisy_jpeg(300, 200)
    before_keys = local_run.keys(f"uploads/{account}/")
    before_rows = uploads_of(local_run, account)

    def expired_form(route: Any) -> None:
        if route.request.method != "POST":
            return route.continue_()
        answer = route.fetch()
        created, asked = answer.json(), json.loads(route.request.post_data)
        created["post"] = local_run.s3.generate_presigned_post(
            Bucket=local_run.uploads_bucket, Key=created["key"], Fields={"Content-Type": asked["content_type"]},
            Conditions=[{"Content-Type": asked["content_type"]},
                        ["content-length-range", asked["size"], asked["size"]]], ExpiresIn=-60)
        return route.fulfill(response=answer, json=created)

    page.route(f"{local_run.base}/uploads", expired_form)
    watched.allow(REFUSED.format(403))
    pick(page, "late.jpg", "image/jpeg", photo)
    message = page.wait_for_selector(MESSAGE).inner_text()
    assert message == "The storage refused late.jpg: Invalid according to Policy: Policy expired. (AccessDenied)"
    page.unroute(f"{local_run.base}/uploads")
    page.wait_for_function("() => !document.querySelector('li.upload[data-state=\"pending\"]')")
    assert uploads_of(local_run, account) == before_rows

    # The S3 POST answered 204 without reaching S3: the completion finds no file (409), the page cancels.
    page.reload()
    page.route(re.compile(re.escape(local_run.cloud) + "/.*"), lambda route: route.fulfill(
        status=204, headers={"Access-Control-Allow-Origin": local_run.base}) if route.request.method == "POST"
        else route.continue_())
    watched.allow(REFUSED.format(409))
    pick(page, "ghost.jpg", "image/jpeg", photo)
    message = page.wait_for_selector(MESSAGE).inner_text()
    assert message.startswith("Could not finish uploading ghost.jpg: The file is not in the bucket yet"), message
    page.wait_for_function("() => !document.querySelector('li.upload[data-state=\"pending\"]')")
    page.unroute(re.compile(re.escape(local_run.cloud) + "/.*"))
    assert uploads_of(local_run, account) == before_rows and local_run.keys(f"uploads/{account}/") == before_keys

    # Completed twice (as by a second tab): the second answer is a 409 the page shows, and it follows the image.
    page.reload()

    def complete_twice(route: Any) -> None:
        route.fetch()
        return route.fulfill(response=route.fetch())

    page.route(re.compile(re.escape(local_run.base) + r"/uploads/\d+/complete"), complete_twice)
    pick(page, "twice.jpg", "image/jpeg", photo)
    message = page.wait_for_selector(MESSAGE).inner_text()
    assert re.fullmatch(r"Upload \d+ was already completed and is uploaded; nothing was queued again\. "
                        r"Follow its state at GET /uploads/\d+\.", message), message
    page.wait_for_selector(card("twice.jpg") + " img", timeout=60_000)
    rows = uploads_of(local_run, account)
    assert rows[len(before_rows):] == [(rows[-1][0], "ready", "twice.jpg")]


def test_a_page_from_another_origin_gets_no_answer_from_the_bucket(local_run, account, watched):
    """The bucket's CORS admits the stage's web origin only: the same app opened at another address (here
    localhost for 127.0.0.1) gets no readable answer from S3, and the page says so. CORS hides S3's answer
    but does not stop the form POST (a simple request, no preflight), so the file may arrive all the same:
    the page's completion finds it and it is processed, nothing is left pending."""
    page = watched.page
    other = local_run.base.replace("127.0.0.1", "localhost")
    assert urlsplit(other).netloc != urlsplit(local_run.base).netloc
    log_in(page, other, ACCOUNT_EMAIL)
    before_rows = uploads_of(local_run, account)
    watched.allow(r"blocked by CORS policy", r"Failed to load resource: net::ERR_FAILED")
    pick(page, "elsewhere.jpg", "image/jpeg", noisy_jpeg(200, 100))
    message = page.wait_for_selector(MESSAGE).inner_text()
    assert message == (f"The storage did not answer elsewhere.jpg to this page ({other}): it answers only the "
                       "site's own address, or it could not be reached. Open the site at its usual address and "
                       "try again. The file reached the storage all the same and is being processed."), message
    page.wait_for_selector(card("elsewhere.jpg") + " img", timeout=60_000)
    rows = uploads_of(local_run, account)
    assert rows[len(before_rows):] == [(rows[-1][0], "ready", "elsewhere.jpg")]


def test_a_stage_without_a_domain_works_at_its_eb_address(local_run, named_browser, web_host):
    """Served over plain http at <env>.<region>.elasticbeanstalk.com, as staging is in AWS: sign up, follow the
    mailed link, log out, log in, upload, see the variants from the CDN. A Secure session cookie, the old
    default, would be dropped here and nobody could log in (at 127.0.0.1 browsers keep it)."""
    site = f"http://{web_host}:{urlsplit(local_run.base).port}"
    page = named_browser.new_page()
    page.goto(f"{site}/login")
    page.evaluate("() => { document.cookie = 'probe=1; Secure; path=/'; }")
    assert "probe" not in {c["name"] for c in named_browser.cookies(site)}  # this host is not a secure context
    email = "named-host@example.com"
    submit_credentials(page, f"{site}/signup", email, lands_on="Check your mail")
    link = verification_link(local_run.cloud, email)
    assert link.startswith(f"{site}/verify/")  # the mail names the site as the browser reached it
    page.goto(link)
    page.wait_for_selector("h1:text('Your images')")
    session = [c for c in named_browser.cookies(site) if c["name"] == "session"]
    assert session and not session[0]["secure"] and session[0]["httpOnly"]
    page.click("form[action='/logout'] button")
    page.wait_for_selector("h1:text('Log in')")
    log_in(page, site, email)
    pick(page, "seaside.jpg", "image/jpeg", noisy_jpeg(400, 300))
    page.wait_for_selector(card("seaside.jpg"), timeout=60_000)
    assert all(url.startswith(local_run.cdn + "/") for url in image_urls(page))
    page.close()


def test_losing_a_web_instance_and_a_broken_release_keep_the_page_served(local_run, account, watched, tmp_path):
    """Two web instances behind the load balancer: one dies mid-session and the page goes on, logged in; then,
    under RollingWithAdditionalBatch (full capacity: the stage's own Rolling would take the survivor out if its
    batch came first), a release whose app cannot import is deployed, fails on the instance that takes it, and
    `eb_tools deploy` puts every instance back on the good version, while the page is served throughout."""
    page, good = watched.page, served_version(local_run)
    eb = local_client("elasticbeanstalk", local_run.cloud)
    choose_policies(eb, {"oppima-local-web": "RollingWithAdditionalBatch"})
    try:
        _lose_an_instance_then_deploy_a_broken_release(local_run, page, good, tmp_path)
    finally:
        choose_policies(eb, {"oppima-local-web": "Rolling"})  # the stage file's


def _lose_an_instance_then_deploy_a_broken_release(local_run: LocalRun, page: Any, good: str, tmp_path: Path) -> None:
    page.goto(f"{local_run.base}/uploads")
    masters = web_masters(local_run)
    assert len(masters) == 2, masters  # the local stage's web min
    os.killpg(masters[0], signal.SIGKILL)  # the instance's app dies, as a crashed instance's does
    for _ in range(5):
        page.reload()
        assert page.locator("h1").inner_text() == "Your images"  # still logged in: sessions live in Redis
    with watching(local_run, page.context.cookies()) as answers:
        deployed = subprocess.run(
            [str(Path(sys.executable).parent / "eb_tools"), "deploy", "local", str(_broken_tree(tmp_path)),
             "--working-tree", "--label", "broken-import", "--file", str(ROOT / "eb_tools.yaml"), "--timeout", "240"],
            env={**os.environ, "AWS_ENDPOINT_URL": local_run.cloud}, capture_output=True, text=True, timeout=300)
    assert deployed.returncode == 1, deployed.stdout + deployed.stderr
    assert "Command failed on instance" in deployed.stdout and "rolled back" in deployed.stderr, deployed.stdout
    assert set(answers) == {200}, deployed.stdout[-6000:]  # not one request of the page failed
    health = local_client("elasticbeanstalk", local_run.cloud).describe_instances_health(
        EnvironmentName="oppima-local-web", AttributeNames=["All"])["InstanceHealthList"]
    assert {(i["Deployment"]["VersionLabel"], i["HealthStatus"]) for i in health} == {(good, "Ok")}
    assert len(web_masters(local_run)) == len(health) and served_version(local_run) == good


def _broken_tree(tmp_path: Path) -> Path:
    """The repository's files, with an app that fails to import."""
    tree = tmp_path / "broken"
    for name in included_files(ROOT):
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, tree / name)
    (tree / "wsgi.py").write_text('raise ImportError("this release cannot import its app")\n')
    return tree


def test_rotating_the_stage_s_secrets_fails_no_request_and_loses_no_task(local_run, account, watched):
    """`eb_tools secrets rotate local flask-key redis-token database` (the first two sharing two restarts, the
    database's needing none), while a logged-in page is fetched every 0.2 s and the browser keeps uploading from
    a page loaded before the rotation (its CSRF token signed with the old key): not one request fails, and the
    worker makes every upload's variants."""
    page, secrets = watched.page, local_client("secretsmanager", local_run.cloud)
    arns = _web_secrets(local_run)
    before = {name: secrets.get_secret_value(SecretId=arn)["SecretString"] for name, arn in arns.items()}
    database_secret = stage_outputs(local_run.cloud)["DbSecretArn"]
    old_password = json.loads(secrets.get_secret_value(SecretId=database_secret)["SecretString"])["password"]
    page.goto(f"{local_run.base}/uploads")
    uploaded: list[str] = []
    with watching(local_run, page.context.cookies()) as answers:
        rotation = subprocess.Popen(
            [str(Path(sys.executable).parent / "eb_tools"), "secrets", "rotate", "local", "flask-key",
             "redis-token", "database", "--file", str(ROOT / "eb_tools.yaml"), "--timeout", "240"],
            env={**os.environ, "AWS_ENDPOINT_URL": local_run.cloud}, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True)
        while rotation.poll() is None:  # the worker kept busy: an upload's variants at a time
            uploaded.append(f"rotating-{len(uploaded)}.jpg")
            pick(page, uploaded[-1], "image/jpeg", noisy_jpeg(160, 120))  # small: one variant width, little CPU
            page.wait_for_selector(card(uploaded[-1]), timeout=90_000)
        said = rotation.communicate(timeout=30)[0]
        assert rotation.returncode == 0 and "flask-key, redis-token, database rotated" in said, said
    assert set(answers) == {200} and len(answers) > 30, said
    assert len(uploaded) >= 2 and page.locator(MESSAGE).count() == 0
    after = {name: secrets.get_secret_value(SecretId=arn)["SecretString"] for name, arn in arns.items()}
    assert after["SECRET_KEY"].split()[1] == before["SECRET_KEY"].split()[0] != after["SECRET_KEY"].split()[0]
    assert after["REDIS_AUTH_TOKEN"] != before["REDIS_AUTH_TOKEN"]
    database = json.loads(secrets.get_secret_value(SecretId=database_secret)["SecretString"])
    assert database["password"] != old_password and local_run.query("SELECT COUNT(*) FROM users")[0][0] >= 1


def _web_secrets(local_run: LocalRun) -> dict[str, str]:
    """{variable: secret ARN} of the web environment's environment secrets."""
    described = local_client("elasticbeanstalk", local_run.cloud).describe_configuration_settings(
        ApplicationName="oppima", EnvironmentName="oppima-local-web")["ConfigurationSettings"][0]["OptionSettings"]
    return {o["OptionName"]: o["Value"] for o in described
            if o["Namespace"] == "aws:elasticbeanstalk:application:environmentsecrets"}




