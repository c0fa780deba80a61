"""`eb_tools local`: the emulated cloud, the local stage in it, and the bundle's processes.

The steps, each a function below: start the cloud; provision the local stage and
put back the state of the last run; deploy the working tree to both
environments; run migrations and both tiers from the Procfile under gunicorn
with the environment properties a provisioned stage would give them (APP_ROLE
picks web or worker), the web app behind nginx with the bundle's .platform/nginx
files when nginx is installed; feed the worker with the sqsd emulator (the
stage's queue and cron.yaml). Ctrl-C stops every process this started and saves
the stage's state for the next run.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import click
import requests

from eb_tools import cronfile, nginx_conf, procfile
from eb_tools.aws import LOCAL_ACCESS_KEY, LOCAL_REGION, LOCAL_SECRET_KEY, WaitTimeout, local_client, wait_until
from eb_tools.bundle import included_files
from eb_tools.local import eb_stage, state
from eb_tools.local.cloud import LocalCloud, free_port
from eb_tools.local.processes import Supervisor
from eb_tools.local.resources import LocalStage, provision
from eb_tools.local.sqsd import Sqsd

HOST = "127.0.0.1"


@dataclass(frozen=True)
class Address:
    """A local listening address: `bind` for gunicorn and nginx, `url` for clients."""

    port: int
    host: str = HOST

    @property
    def bind(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.bind}"


@dataclass(frozen=True)
class Addresses:
    web: Address  # what users open: nginx, or gunicorn itself without nginx
    app: Address  # the web tier's gunicorn
    worker: Address  # the worker tier's gunicorn, which sqsd POSTs to
    nginx: str | None  # nginx's binary, when installed


def run(root: Path, data_dir: Path, web_port: int, cloud_port: int, eb_seconds: float = 1.0) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    cron = _cron_tasks(root)
    cloud = LocalCloud(port=cloud_port, eb_transition_seconds=eb_seconds).start()
    supervisor = Supervisor()
    sqsd: Sqsd | None = None
    snapshot: state.Snapshot | None = None  # what to keep in data_dir at the end, once the stage exists
    try:
        addresses = _addresses(web_port)
        stage = provision(cloud.url, addresses.web.url)
        restored = state.restore(cloud.url, data_dir / "cloud")
        deployed = eb_stage.deploy(cloud.url, root, data_dir, stage)
        snapshot = state.Snapshot(buckets=[stage.uploads_bucket, stage.backup_bucket, deployed.storage_bucket],
                                  queues=[stage.queue_url, stage.dead_letter_queue_url],
                                  parameters=[stage.secret_key_parameter],
                                  application=deployed.application)
        _start_tiers(supervisor, root, data_dir, _process_environment(stage, cloud.url, data_dir), addresses)
        sqsd = Sqsd(local_client("sqs", cloud.url), stage.queue_url, addresses.worker.url, deployed.sqsd,
                    cron=cron).start()
        click.echo(f"local cloud: {cloud.url}   (AWS_ENDPOINT_URL for boto3 and the eb CLI)")
        click.echo(f"state:       {data_dir}   ("
                   + (f"{restored} objects and messages restored from the last run)" if restored else "a new stage)"))
        click.echo(f"version:     {deployed.label} on {deployed.web} and {deployed.worker} "
                   f"(application {deployed.application})")
        click.echo(f"worker app:  {addresses.worker.url}   (fed by sqsd from {stage.queue_url})")
        front = f"nginx -> gunicorn {addresses.app.bind}" if addresses.nginx else \
            "gunicorn; install nginx to put it in front"
        click.echo(f"web app:     {addresses.web.url}   ({front}; Ctrl-C stops everything)")
        exited = supervisor.wait()
        if exited:
            raise click.ClickException(f"the {exited} process exited; stopping the others")
    finally:
        if sqsd is not None:
            sqsd.stop()
        supervisor.stop_all()
        if snapshot is not None:
            state.save(cloud.url, data_dir / "cloud", snapshot)
        cloud.stop()


def run_cloud(cloud_port: int, eb_seconds: float = 1.0) -> None:
    """Just the emulated AWS endpoint, until Ctrl-C: nothing provisioned, nothing kept."""
    cloud = LocalCloud(port=cloud_port, eb_transition_seconds=eb_seconds).start()
    try:
        click.echo(f"local cloud: {cloud.url}")
        click.echo(f"  export AWS_ENDPOINT_URL={cloud.url} AWS_ACCESS_KEY_ID={LOCAL_ACCESS_KEY} "
                   f"AWS_SECRET_ACCESS_KEY={LOCAL_SECRET_KEY}")
        click.echo("  then: eb_tools provision staging --yes   (Ctrl-C stops the cloud; its state is not kept)")
        Supervisor().wait()
    finally:
        cloud.stop()


def _cron_tasks(root: Path) -> list[cronfile.CronTask]:
    """cron.yaml's tasks; a file EB's cron leader would refuse stops the run before anything starts."""
    parsed = cronfile.load(root / cronfile.NAME)
    if parsed.problems:
        problem = parsed.problems[0]
        raise click.ClickException(f"{root / cronfile.NAME}:{problem.line}: {problem.message}; {problem.fix}")
    return parsed.tasks


def _addresses(web_port: int) -> Addresses:
    """Internal ports for the tiers, never the web port promised to users (nginx binds it only later)."""
    taken = {web_port}

    def internal() -> Address:
        address = Address(free_port(exclude=frozenset(taken)))
        taken.add(address.port)
        return address

    web, nginx = Address(web_port), nginx_conf.binary()
    # As on an instance: nginx, with the bundle's .platform/nginx files, in front of gunicorn.
    return Addresses(web=web, app=internal() if nginx else web, worker=internal(), nginx=nginx)


def _process_environment(stage: LocalStage, cloud_url: str, data_dir: Path) -> dict[str, str]:
    """What both tiers' processes see: the stage's environment properties, pointed at the local cloud."""
    return {
        **os.environ,
        **stage.environment(),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "LOCAL_DATA_DIR": str(data_dir.resolve()),
        "AWS_ENDPOINT_URL": cloud_url,
        "AWS_ACCESS_KEY_ID": LOCAL_ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": LOCAL_SECRET_KEY,
        "AWS_REGION": LOCAL_REGION,
        "SESSION_COOKIE_SECURE": "false",  # plain http on this machine
        "GUNICORN_WORKERS": "2",
    }


def _start_tiers(supervisor: Supervisor, root: Path, data_dir: Path, env: dict[str, str],
                 addresses: Addresses) -> None:
    """Migrate, then both tiers from the Procfile, nginx in front of the web one when installed."""
    migrate = supervisor.start("migrate", [sys.executable, "-m", "core.migrate"], root, env)
    if migrate.wait() != 0:
        raise click.ClickException("migrations failed; see the line above")
    del supervisor.processes["migrate"]
    try:
        command = procfile.load(root).command("web")
    except procfile.ProcfileError as error:
        raise click.ClickException(str(error)) from None
    supervisor.start("web", command, root, {**env, "APP_ROLE": "web", "GUNICORN_BIND": addresses.app.bind})
    supervisor.start("worker", command, root, {**env, "APP_ROLE": "worker", "GUNICORN_BIND": addresses.worker.bind})
    if addresses.nginx:
        prefix = (data_dir / "nginx").resolve()
        nginx_conf.prepare(prefix, root, included_files(root), addresses.web.bind, addresses.app.bind)
        supervisor.start("nginx", [addresses.nginx, "-p", f"{prefix}/", "-c", str(prefix / "nginx.conf"),
                                   "-e", str(prefix / "error.log"), "-g", "daemon off;"], root, env)
    for address in (addresses.web, addresses.worker):
        _wait_healthy(f"{address.url}/healthz", supervisor)


def _wait_healthy(url: str, supervisor: Supervisor, timeout: float = 60) -> None:
    def healthy() -> bool:
        name = supervisor.exited()
        if name:
            raise click.ClickException(f"the {name} process exited during start-up; see its output above")
        try:
            return requests.get(url, timeout=2).status_code == 200
        except requests.RequestException:
            return False

    try:
        wait_until(healthy, timeout, f"{url} answering 200")
    except WaitTimeout as error:
        raise click.ClickException(str(error)) from None
