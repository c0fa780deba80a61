"""`make up`'s command, `eb_tools local`: sign up, log in and upload against the local cloud."""
from __future__ import annotations

import io
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests
from PIL import Image

from eb_tools.local.cloud import free_port

ROOT = Path(__file__).resolve().parent.parent
TOKEN = re.compile(r'name="csrf-token" content="([^"]+)"')


def wait_for(url: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"eb_tools local exited with {proc.returncode}"
        try:
            requests.get(url, timeout=1)
            return
        except requests.ConnectionError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {timeout}s")


def test_local_run_serves_the_product_and_stops_on_ctrl_c(tmp_path):
    port, cloud_port = free_port(), free_port()
    eb_tools = Path(sys.executable).parent / "eb_tools"
    proc = subprocess.Popen([str(eb_tools), "local", "--port", str(port), "--cloud-port", str(cloud_port),
                             "--data-dir", str(tmp_path / "state")], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{base}/healthz", proc)
        browser = requests.Session()
        for page in ("/signup", "/login"):
            assert browser.get(base + page, timeout=5).status_code == 200
        token = TOKEN.search(browser.get(f"{base}/signup", timeout=5).text).group(1)
        signed_up = browser.post(f"{base}/signup", data={"email": "local@example.com", "password": "local pass 1",
                                                         "csrf_token": token}, timeout=5)
        assert signed_up.status_code == 200 and "Your images" in signed_up.text
        token = TOKEN.search(signed_up.text).group(1)

        image = io.BytesIO()
        Image.new("RGB", (32, 32), "blue").save(image, "JPEG")
        created = browser.post(f"{base}/uploads", json={"filename": "blue.jpg", "content_type": "image/jpeg",
                                                        "size": len(image.getvalue())},
                               headers={"X-CSRFToken": token}, timeout=5).json()
        sent = requests.post(created["post"]["url"], data=created["post"]["fields"],
                             files={"file": ("blue.jpg", image.getvalue())}, timeout=10)
        assert sent.status_code == 204
        done = browser.post(base + created["complete_url"], json={}, headers={"X-CSRFToken": token}, timeout=5)
        assert done.status_code == 200 and done.json()["state"] == "uploaded"
        listed = browser.get(f"{base}/uploads", timeout=5).text
        assert done.json()["url"] in listed
        assert requests.get(done.json()["url"], timeout=5).content == image.getvalue()
    finally:
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=30)
    assert f"web app:     {base}" in output
    for target in (base, f"http://127.0.0.1:{cloud_port}"):
        try:
            requests.get(target, timeout=1)
            raise AssertionError(f"{target} still answers after Ctrl-C")
        except requests.ConnectionError:
            pass
