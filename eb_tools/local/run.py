"""`eb_tools local`: the emulated cloud, the local stage in it, and the bundle's processes.

Both tiers run from the Procfile under gunicorn with the environment properties a
provisioned stage would give them (APP_ROLE picks web or worker), the web app
behind nginx with the bundle's .platform/nginx files when nginx is installed; the
sqsd emulator feeds the worker from the stage's queue and fires cron.yaml. Ctrl-C
stops every process this started.
"""
from __future__ import annotations

import os
import secrets
import shlex
import sys
import time
from pathlib import Path

import boto3
import click
import requests

from eb_tools import nginx_conf
from eb_tools.bundle import included_files
from eb_tools.local.cloud import LOCAL_CREDENTIALS, LocalCloud, free_port
from eb_tools.local.processes import Supervisor
from eb_tools.local.resources import REGION, provision
from eb_tools.local import eb_stage, state
from eb_tools.local.sqsd import Sqsd, load_cron


def procfile_command(root: Path, process: str = "web") -> list[str]:
    for line in (root / "Procfile").read_text().splitlines():
        name, sep, command = line.partition(":")
        if sep and name.strip() == process:
            return shlex.split(command.strip())
    raise click.ClickException(f"{root / 'Procfile'}: no '{process}:' line; add one such as "
                               "'web: gunicorn --config gunicorn.conf.py wsgi:application'")


def wait_healthy(url: str, supervisor: Supervisor, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        name = supervisor.exited()
        if name:
            raise click.ClickException(f"the {name} process exited during start-up; see its output above")
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise click.ClickException(f"{url} did not answer within {timeout:.0f}s")


def local_secret_key(data_dir: Path) -> str:
    """The local stage's Flask secret key: made once, kept in the data folder, put in SSM each run."""
    path = data_dir / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def run(root: Path, data_dir: Path, web_port: int, cloud_port: int, eb_seconds: float = 1.0) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    cloud = LocalCloud(port=cloud_port, eb_transition_seconds=eb_seconds).start()
    supervisor = Supervisor()
    sqsd: Sqsd | None = None
    saved: dict[str, object] | None = None  # what to keep in data_dir at the end, once the stage exists
    try:
        web_url = f"http://127.0.0.1:{web_port}"
        stage = provision(cloud.url, web_url, local_secret_key(data_dir))
        access_key, secret_key = next(iter(LOCAL_CREDENTIALS.items()))
        session = boto3.session.Session(aws_access_key_id=access_key, aws_secret_access_key=secret_key,
                                        region_name=REGION)
        restored = state.restore(session, cloud.url, data_dir / "cloud")
        deployed = eb_stage.deploy(session, cloud.url, root, data_dir, stage)
        eb_bucket = session.client("elasticbeanstalk", endpoint_url=cloud.url).create_storage_location()["S3Bucket"]
        saved = {"session": session, "endpoint": cloud.url, "folder": data_dir / "cloud",
                 "buckets": [stage.uploads_bucket, stage.backup_bucket, eb_bucket],
                 "queues": [url.rsplit("/", 1)[1] for url in (stage.queue_url, stage.dead_letter_queue_url)],
                 "application": deployed.application}
        env = {
            **os.environ,
            **stage.environment(),
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "LOCAL_DATA_DIR": str(data_dir.resolve()),
            "AWS_ENDPOINT_URL": cloud.url,
            "AWS_ACCESS_KEY_ID": access_key,
            "AWS_SECRET_ACCESS_KEY": secret_key,
            "AWS_REGION": REGION,
            "SESSION_COOKIE_SECURE": "false",  # plain http on this machine
            "GUNICORN_WORKERS": "2",
        }
        worker_url, app_bind, nginx = start_processes(supervisor, root, data_dir, env, web_url)
        sqsd = Sqsd(session.client("sqs", endpoint_url=cloud.url), stage.queue_url, worker_url, deployed.sqsd,
                    cron=load_cron(root / "cron.yaml")).start()
        click.echo(f"local cloud: {cloud.url}   (AWS_ENDPOINT_URL for boto3 and the eb CLI)")
        click.echo(f"state:       {data_dir}   ({restored} objects and messages restored from the last run)")
        click.echo(f"version:     {deployed.label} on {deployed.web} and {deployed.worker} "
                   f"(application {deployed.application})")
        click.echo(f"worker app:  {worker_url}   (fed by sqsd from {stage.queue_url})")
        front = f"nginx -> gunicorn {app_bind}" if nginx else "gunicorn; install nginx to put it in front"
        click.echo(f"web app:     {web_url}   ({front}; Ctrl-C stops everything)")
        exited = supervisor.wait()
        if exited:
            raise click.ClickException(f"the {exited} process exited; stopping the others")
    finally:
        if sqsd is not None:
            sqsd.stop()
        supervisor.stop_all()
        if saved is not None:
            state.save(**saved)  # type: ignore[arg-type]
        cloud.stop()


def start_processes(supervisor: Supervisor, root: Path, data_dir: Path, env: dict[str, str],
                    web_url: str) -> tuple[str, str, str | None]:
    """Migrate, then both tiers from the Procfile, nginx in front of the web one when installed."""
    migrate = supervisor.start("migrate", [sys.executable, "-m", "core.migrate"], root, env)
    if migrate.wait() != 0:
        raise click.ClickException("migrations failed; see the line above")
    del supervisor.processes["migrate"]
    command = procfile_command(root)
    promised = frozenset({int(web_url.rsplit(":", 1)[1])})  # nginx binds the web port only later
    worker_url = f"http://127.0.0.1:{free_port(exclude=promised)}"
    nginx = nginx_conf.binary()
    # As on an instance: nginx, with the bundle's .platform/nginx files, in front of gunicorn.
    app_bind = f"127.0.0.1:{free_port(exclude=promised | {int(worker_url.rsplit(':', 1)[1])})}" if nginx else web_url[7:]
    supervisor.start("web", command, root, {**env, "APP_ROLE": "web", "GUNICORN_BIND": app_bind})
    supervisor.start("worker", command, root, {**env, "APP_ROLE": "worker", "GUNICORN_BIND": worker_url[7:]})
    if nginx:
        prefix = (data_dir / "nginx").resolve()
        nginx_conf.prepare(prefix, root, included_files(root), web_url[7:], app_bind)
        supervisor.start("nginx", [nginx, "-p", f"{prefix}/", "-c", str(prefix / "nginx.conf"),
                                   "-e", str(prefix / "error.log"), "-g", "daemon off;"], root, env)
    wait_healthy(f"{web_url}/healthz", supervisor)
    wait_healthy(f"{worker_url}/healthz", supervisor)
    return worker_url, app_bind, nginx
