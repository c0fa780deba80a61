"""`eb_tools local`: the emulated cloud, a stage of the stage file in it, and its instances.

The stage (`local` unless --stage names another) is a stage like any other: `eb_tools provision` builds it
from the stage file (the same templates, change sets and EB environments) and `release` deploys the working
tree to both environments; what is local is only the endpoint. The cloud runs on a data folder, so the stage's
RDS instances and ElastiCache group are real servers (a MariaDB writer and its binary-log replica, a
redis-server requiring the AUTH token over TLS) at the endpoints the stack outputs, and it hosts the EB
environments' instances (eb_tools/cloud/instances): each is a process group running the version EB says it
runs, deployed as the platform deploys (hooks, requirements, migrations, the Procfile under gunicorn, nginx
in front), batch by batch under the environment's deployment policy; the web environment's load balancer is
an nginx on the web port, routing to the instances that answer their health check. Each instance's
processes get their environment's properties and secrets and the declared overrides of overrides.py, nothing
else. The steps, each a function below: read the state of the last run; start the cloud and put back EB's
records in it (state.py); provision; put back the stage's objects, messages and secrets; deploy; feed the
worker instances with the sqsd emulator (its environment's sqsd options and cron.yaml). Ctrl-C stops every
instance and server and saves the stage's state for the next run.
"""
from __future__ import annotations

import contextlib
import logging
import signal
import socket
from dataclasses import dataclass
from pathlib import Path

import requests

from eb_tools.aws import LOCAL_ACCESS_KEY, LOCAL_SECRET_KEY, Target, WaitTimeout, local_session, wait_until
from eb_tools.cloud.instances.hosting import Hosting
from eb_tools.cloud.server import LocalCloud, free_port
from eb_tools.errors import EbToolsError, LocalStageError
from eb_tools.formats import cronfile
from eb_tools.local import overrides, state
from eb_tools.local import sqsd as sqsd_module
from eb_tools.local.processes import Supervisor
from eb_tools.local.sqsd import Sqsd, SqsdOptions
from eb_tools.names import environment_names
from eb_tools.provision import command as provision
from eb_tools.release import versions
from eb_tools.release.deploy import Built, deliver, prepare
from eb_tools.stage import ebenv
from eb_tools.stage.runner import Echo
from eb_tools.stage.target import StageTarget
from eb_tools.stage_file import StageFile, load

HOST = "127.0.0.1"
POLL_SECONDS = 0.1  # the emulated cloud settles in about --eb-seconds
DEPLOY_TIMEOUT = 120.0
STAGE = "local"  # the stage `eb_tools local` runs unless --stage names another
STAGE_FILE = "eb_tools.yaml"
# What the local stage owns, by the stage stack output that names it (state.StageResources' roles).
BUCKET_ROLES = ("UploadsBucket", "BackupBucket")
QUEUE_ROLES = ("WorkerQueueUrl", "WorkerDeadLetterQueueUrl")
SECRET_ROLES = ("SecretKeySecretArn",)


@dataclass(frozen=True)
class Deployed:
    application: str
    label: str
    environments: dict[str, str]  # tier -> EB environment name


@dataclass
class Running:
    """What `run` has started, for it to stop whatever happens."""

    cloud: LocalCloud
    supervisor: Supervisor
    target: Target
    sqsd: Sqsd | None = None
    sqsd_log: logging.Handler | None = None
    resources: state.StageResources | None = None  # what to keep in data_dir at the end, once the stage exists


def run(root: Path, data_dir: Path, web_port: int, cloud_port: int, eb_seconds: float = 1.0,
        echo: Echo = print, stage: str = STAGE, https_port: int = 8443) -> None:
    """A stage of the stage file, until Ctrl-C (see the module docstring); `https_port` is where a stage with
    a domain gets its HTTPS listener."""
    spec = _stage_file(root).stage(stage)
    https = {"--https-port": https_port} if spec.domain else {}
    _check_free({"--port": web_port, "--cloud-port": cloud_port, **https})
    data_dir.mkdir(parents=True, exist_ok=True)
    cron = _cron_tasks(root)
    saved = _saved_state(data_dir / "cloud")
    web = environment_names(spec.application, spec.name)["web"]

    def extra(environment: str, variables: dict[str, str]) -> dict[str, str]:
        return overrides.for_instances(cloud.url, cloud.cdn_url_for(variables.get("CDN_URL", "")), cloud.trusted_ca)

    # Out of SES's sandbox (a declared override): sign-up mails whatever address someone types in.
    cdn_port = free_port(exclude=frozenset({web_port, cloud_port, https_port}))
    cloud = LocalCloud(port=cloud_port, eb_transition_seconds=eb_seconds, data_dir=data_dir / "stores",
                       cdn_port=cdn_port, ses_production_access=True,
                       hosting=Hosting((data_dir / "instances").resolve(), extra, {web: web_port},
                                       {web: https_port})).start()
    running = Running(cloud, Supervisor(), Target(local_session(spec.region), cloud.url, poll_seconds=POLL_SECONDS))
    try:
        _bring_up(running, root, data_dir, StageTarget(spec, running.target), saved, cron, (web_port, https_port),
                  echo)
        running.supervisor.wait()
    finally:
        _ignore_interrupts()
        if running.sqsd is not None:
            running.sqsd.stop()
        if running.sqsd_log is not None:
            logging.getLogger(sqsd_module.__name__).removeHandler(running.sqsd_log)
            running.sqsd_log.close()
        cloud.stop_instances()  # before the state is saved: a deployment still running ends now
        if running.resources is not None:
            state.save(cloud, running.target, data_dir / "cloud", running.resources)
        cloud.stop()


def _bring_up(running: Running, root: Path, data_dir: Path, where: StageTarget, saved: state.Saved | None,
              cron: list[cronfile.CronTask], ports: tuple[int, int], echo: Echo) -> None:
    """Provision and deploy the stage, feed its worker, and say where everything is; `ports`: the load
    balancer's HTTP and HTTPS listeners'."""
    cloud, target, region = running.cloud, running.target, where.stage.region
    restored = state.restore_cloud(cloud, target, saved) if saved else 0
    built = _register(where, root, data_dir)
    web_url = f"http://{HOST}:{ports[0]}"  # the web environment's load balancer
    origins = _issue_certificate(cloud, where, ports[1]) + [web_url]
    outputs = _provision(root, where.name, target, ",".join(origins), built.label)
    _verify_sender(cloud, where)
    running.resources = _stage_resources(outputs)
    restored += state.restore_stage(cloud, target, saved, running.resources) if saved else 0
    deployed = _deploy(where, built)
    _wait_healthy(f"{web_url}/healthz")
    worker = ebenv.settings(target.client("elasticbeanstalk"), deployed.application, deployed.environments["worker"])
    running.sqsd_log = _log_sqsd(data_dir)
    _publish_logs(cloud, deployed, data_dir, region)
    queue = worker[("aws:elasticbeanstalk:sqsd", "WorkerQueueURL")]
    worker_env = deployed.environments["worker"]
    running.sqsd = Sqsd(target.client("sqs"), queue, lambda: _first(cloud.instance_urls(worker_env)),
                        SqsdOptions.from_settings(worker, wait_time_seconds=2), cron=cron).start()
    echo(f"local cloud: {cloud.url}   (AWS_ENDPOINT_URL for boto3 and the eb CLI)")
    echo(f"state:       {data_dir}   (" + (f"{restored} objects and messages and {saved.environments} EB "
                                          "environments with their events restored from the last run)"
                                          if saved else "a new stage)"))
    echo(f"version:     {deployed.label} on {deployed.environments['web']} and "
         f"{deployed.environments['worker']} (application {deployed.application}, stage {where.name})")
    _announce_data_stores(outputs, echo)
    for tier, name in deployed.environments.items():
        echo(f"{tier + ' tier:':<13}{', '.join(cloud.instance_urls(name))}   (instances of {name})")
    echo(f"worker feed: sqsd from {queue}")
    cdn_url = cloud.cdn_url_for(f"https://{outputs['CdnDomain']}")
    echo(f"cdn:         {cdn_url}   (CloudFront stand-in for {cdn_url.rsplit('/', 1)[-1]})")
    _announce_https(cloud, where, deployed.environments["web"], echo)
    echo(f"web app:     {web_url}   (the load balancer: nginx -> each web instance's nginx -> gunicorn; "
         "Ctrl-C stops everything)")


def _ignore_interrupts() -> None:
    """From here on a second Ctrl-C (or a SIGTERM) waits for the servers and instances to stop, which an
    interruption would leave running with their data half written."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(ValueError):  # not the main thread: nothing to shield
            signal.signal(sig, signal.SIG_IGN)


def _first(urls: list[str]) -> str | None:
    """The first worker instance in service, where sqsd posts (None: sqsd waits for one)."""
    return urls[0] if urls else None


def _announce_data_stores(outputs: dict[str, str], echo: Echo) -> None:
    """Where the stage's database and Redis answer, when it has them."""
    if "DbHost" in outputs:
        reader = outputs.get("DbReaderHost", outputs["DbHost"])
        echo(f"database:    {outputs['DbHost']}:{outputs['DbPort']}   (MariaDB; reads from {reader}:"
             f"{outputs['DbPort']}; credentials in {outputs['DbSecretArn']})")
    if "RedisHost" in outputs:
        echo(f"redis:       {outputs['RedisHost']}:{outputs['RedisPort']}   (TLS and AUTH token, as ElastiCache)")


def _issue_certificate(cloud: LocalCloud, where: StageTarget, https_port: int) -> list[str]:
    """A stage with a domain: the certificate its HTTPS listener names, issued (what its owner does in ACM);
    the origins its pages load from over HTTPS (the name, as the browser addresses it through a name mapped
    to the listener, and with the listener's port, reached directly)."""
    domain = where.stage.domain
    if domain is None:
        return []
    cloud.issue_certificate(where.stage.region, domain.name, domain.certificate_arn)
    return [f"https://{domain.name}", f"https://{domain.name}:{https_port}"]


def _announce_https(cloud: LocalCloud, where: StageTarget, web: str, echo: Echo) -> None:
    """Where a stage with a domain is served over HTTPS, and what a browser needs to reach it."""
    domain, listener = where.stage.domain, cloud.balancer_url(web, "https")
    if domain is None or listener is None:
        return
    port = listener.rsplit(":", 1)[1]
    echo(f"https:       https://{domain.name}:{port}   (the load balancer's HTTPS listener, with a certificate for "
         f"{domain.name} from the local CA {cloud.trusted_ca}: map {domain.name} to {HOST} and trust the CA)")


def _verify_sender(cloud: LocalCloud, where: StageTarget) -> None:
    """The SES identity the stage stack made for its sender, verified as its owner verifies it (following
    SES's link, or publishing a domain's DKIM records)."""
    cloud.verify_email_identity(where.stage.region, where.stage.mail.identity_name)


def _stage_file(root: Path) -> StageFile:
    """The stage file, checked before anything starts."""
    return load(root / STAGE_FILE)


def _register(where: StageTarget, root: Path, data_dir: Path) -> Built:
    """The working tree, checked and bundled as `eb_tools deploy --working-tree` would, registered as a version
    (so that provision can start new environments on it)."""
    built = prepare(root, data_dir / "bundles", working_tree=True, target=where.stage.wheelhouse_target())
    versions.register(where, built.label, built.data, built.description)
    return built


def _provision(root: Path, stage: str, target: Target, web_origin: str, label: str) -> dict[str, str]:
    """The stage, provisioned into the emulated cloud as any stage is; new environments start on the working
    tree's version."""
    try:
        return provision.provision(root / STAGE_FILE, stage, yes=True, echo=_quiet, session=target.session,
                                   endpoint_url=target.endpoint_url, web_origin=web_origin,
                                   poll_seconds=target.poll_seconds, version=label)
    except EbToolsError as error:
        raise LocalStageError(f"provisioning the {stage} stage: {error}") from None


def _quiet(line: str) -> None:
    """provision's plan and events: every run creates the stage anew in an empty cloud, so they say
    nothing new; a failure still comes back as one clear error."""


def _saved_state(folder: Path) -> state.Saved | None:
    """The last run's state, read before anything starts: one that cannot be read stops here, in one line."""
    return state.load(folder)


def _stage_resources(outputs: dict[str, str]) -> state.StageResources:
    return state.StageResources(buckets={role: outputs[role] for role in BUCKET_ROLES},
                                queues={role: outputs[role] for role in QUEUE_ROLES},
                                secrets={role: outputs[role] for role in SECRET_ROLES})


def _deploy(where: StageTarget, built: Built) -> Deployed:
    """Both environments of the local stage on the version, through the deploy every stage gets (provision
    started new ones on it; a refused version is one clear error). No smoke test: the processes start after."""
    deliver(where, built, _quiet, timeout=DEPLOY_TIMEOUT, smoke="")
    return Deployed(where.application, built.label, where.environments)


def run_cloud(cloud_port: int, eb_seconds: float = 1.0, echo: Echo = print) -> None:
    """Just the emulated AWS endpoint, until Ctrl-C: nothing provisioned, nothing kept."""
    _check_free({"--cloud-port": cloud_port})
    cloud = LocalCloud(port=cloud_port, eb_transition_seconds=eb_seconds).start()
    try:
        echo(f"local cloud: {cloud.url}")
        echo(f"cdn:         {cloud.cdn_url}/<distribution id>   (CloudFront stand-in)")
        echo(f"  export AWS_ENDPOINT_URL={cloud.url} AWS_ACCESS_KEY_ID={LOCAL_ACCESS_KEY} "
             f"AWS_SECRET_ACCESS_KEY={LOCAL_SECRET_KEY}")
        echo("  then: eb_tools provision staging --yes   (Ctrl-C stops the cloud; its state is not kept)")
        Supervisor().wait()
    finally:
        cloud.stop()


def _check_free(ports: dict[str, int]) -> None:
    """Each port the run promises is free now, before anything starts (a taken one would be found only after
    provisioning, by the process that fails to listen)."""
    for option, port in ports.items():
        with socket.socket() as sock:
            try:
                sock.bind((HOST, port))
            except OSError:
                raise LocalStageError(f"port {port} is taken (something listens on {HOST}:{port}); stop it, or "
                                      f"choose another with {option}") from None


def _cron_tasks(root: Path) -> list[cronfile.CronTask]:
    """cron.yaml's tasks; a file EB's cron leader would refuse stops the run before anything starts."""
    parsed = cronfile.load(root / cronfile.NAME)
    if parsed.problems:
        problem = parsed.problems[0]
        raise LocalStageError(f"{root / cronfile.NAME}:{problem.line}: {problem.message}; {problem.fix}")
    return parsed.tasks


def _logs(data_dir: Path, tier: str) -> Path:
    """Where a tier's processes log, as an instance of its environment keeps /var/log."""
    folder = (data_dir / "logs" / tier).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _log_sqsd(data_dir: Path) -> logging.Handler:
    """sqsd's lines also go to the worker's aws-sqsd log."""
    handler = logging.FileHandler(_logs(data_dir, "worker") / "aws-sqsd.log")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logging.getLogger(sqsd_module.__name__).addHandler(handler)
    return handler


def _publish_logs(cloud: LocalCloud, deployed: Deployed, data_dir: Path, region: str) -> None:
    """Tell the emulated EB where each environment's instance logs are, for `eb logs`: its first instance's
    /var/log, and sqsd's log for the worker."""
    for tier, name in deployed.environments.items():
        logs = cloud.instance_log_folders(name, region)
        if not logs:
            continue
        files = {f"/var/log/{path}": logs[0] / path for path in ("web.stdout.log", "eb-engine.log", "eb-hooks.log")}
        if tier == "web":
            files |= {f"/var/log/nginx/{path}": logs[0] / "nginx" / path for path in ("access.log", "error.log")}
        else:
            files["/var/log/aws-sqsd/default.log"] = _logs(data_dir, "worker") / "aws-sqsd.log"
        cloud.publish_instance_logs(name, files, region)


def _wait_healthy(url: str, timeout: float = 60) -> None:
    """Until the load balancer routes to a healthy web instance."""
    def healthy() -> bool:
        try:
            return requests.get(url, timeout=2).status_code == 200
        except requests.RequestException:
            return False

    try:
        wait_until(healthy, timeout, f"{url} answering 200")
    except WaitTimeout as error:
        raise LocalStageError(str(error)) from None
