"""`eb_tools local`: the emulated cloud, the local stage in it, and the app's processes.

This runs the web process from the Procfile under gunicorn, with the environment
properties a provisioned stage would give it, and stops everything on Ctrl-C.
"""
from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import click

from eb_tools.local.cloud import LOCAL_CREDENTIALS, LocalCloud
from eb_tools.local.resources import REGION, provision


def procfile_command(root: Path, process: str = "web") -> list[str]:
    for line in (root / "Procfile").read_text().splitlines():
        name, sep, command = line.partition(":")
        if sep and name.strip() == process:
            return shlex.split(command.strip())
    raise click.ClickException(f"{root / 'Procfile'}: no '{process}:' line; add one such as "
                               "'web: gunicorn --config gunicorn.conf.py wsgi:application'")


def run(root: Path, data_dir: Path, web_port: int, cloud_port: int) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    cloud = LocalCloud(port=cloud_port).start()
    web_url = f"http://127.0.0.1:{web_port}"
    stage = provision(cloud.url, web_url)
    access_key, secret_key = next(iter(LOCAL_CREDENTIALS.items()))
    env = {
        **os.environ,
        **stage.environment(),
        "APP_ROLE": "web",
        "LOCAL_DATA_DIR": str(data_dir.resolve()),
        "AWS_ENDPOINT_URL": cloud.url,
        "AWS_ACCESS_KEY_ID": access_key,
        "AWS_SECRET_ACCESS_KEY": secret_key,
        "AWS_REGION": REGION,
        "SESSION_COOKIE_SECURE": "false",  # plain http on this machine
        "GUNICORN_BIND": f"127.0.0.1:{web_port}",
        "GUNICORN_WORKERS": "2",
    }
    bin_dir = Path(sys.executable).parent
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    migrated = subprocess.run([sys.executable, "-m", "core.migrate"], cwd=root, env=env)
    if migrated.returncode != 0:
        cloud.stop()
        raise click.ClickException("migrations failed; see the line above")
    web = subprocess.Popen(procfile_command(root), cwd=root, env=env)
    click.echo(f"local cloud: {cloud.url}")
    click.echo(f"web app:     {web_url}   (Ctrl-C stops everything)")
    previous = signal.signal(signal.SIGTERM, lambda *_: web.terminate())
    try:
        web.wait()
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        if web.poll() is None:
            web.terminate()
            try:
                web.wait(timeout=15)
            except subprocess.TimeoutExpired:
                web.kill()
        cloud.stop()
