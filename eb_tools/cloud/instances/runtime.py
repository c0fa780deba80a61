"""The instances of one local cloud: deploy a version to one (in the background), poll it, ask its health,
find its address, stop it."""
from __future__ import annotations

import re
import socket
import subprocess
import threading
from pathlib import Path
from typing import Any

from eb_tools.cloud.data_stores.processes import binary
from eb_tools.cloud.instances import namespace, processes
from eb_tools.cloud.instances.engine import Deployment, Platform, Request
from eb_tools.cloud.instances.instance import Cancelled, Instance
from eb_tools.cloud.instances.jobs import Health, Job
from eb_tools.cloud.instances.venvs import Venvs
from eb_tools.errors import CloudError

TIERS = ("WebServer", "Worker")
INSTANCE_ID = re.compile(r"^[A-Za-z0-9-]{1,64}$")


class InstanceRuntime:
    """Instances under `folder`: <folder>/instances/<id> (its /var/app, /var/log, /opt/elasticbeanstalk,
    /etc/nginx) and <folder>/venvs/<digest> (the virtualenvs of the requirements sets deployed)."""

    def __init__(self, folder: Path, health_timeout: float = 60, command_timeout: float = 600) -> None:
        namespace.refuse_shadowed(folder)
        self.folder = folder
        self._venvs = Venvs(folder / "venvs")
        self._health_timeout, self._command_timeout = health_timeout, command_timeout
        self._instances: dict[str, Instance] = {}
        self._ports: set[int] = set()  # the instances' ports, kept while the runtime lives
        self._lock = threading.Lock()

    def deploy(self, instance_id: str, tier: str, label: str, bundle: bytes, environment: dict[str, str], *,
               leader: bool = False, application: str = "application") -> Job:
        """Deploy version `label` (its source bundle's bytes) to the instance (launched on its first deployment),
        with `environment` for its processes (PORT and PATH are the platform's). Returns at once; the Job ends
        healthy or failed. `leader`: the command leader, which runs leader_only container_commands. CloudError
        when this machine cannot run instances or the instance is deploying already."""
        if tier not in TIERS or not INSTANCE_ID.match(instance_id):
            raise CloudError(f"cannot deploy to instance {instance_id!r} of tier {tier!r}: tiers are "
                             f"{', '.join(TIERS)}, ids letters, digits and dashes")
        namespace.unshare()  # one clear line, here, when namespaces are not available
        nginx = binary("nginx") if tier == "WebServer" else None
        instance = self._instance(instance_id, tier)
        with instance.lock:
            if instance.job is not None and not instance.job.done:
                raise CloudError(f"instance {instance_id} is deploying {instance.job.label} already")
            instance.stopping = False
            instance.job = job = Job(instance_id, label)
        platform = Platform(self._venvs, nginx, self._command_timeout, self._health_timeout)
        deployment = Deployment(platform, instance, job, Request(tier, label, bundle, environment, leader,
                                                                 application))
        instance.thread = threading.Thread(target=deployment.run, name=f"deploy-{instance_id}", daemon=True)
        instance.thread.start()
        return job

    def _instance(self, instance_id: str, tier: str) -> Instance:
        """The instance, launched (its folders and ports) when new."""
        with self._lock:
            instance = self._instances.get(instance_id)
            if instance is None:
                layout = namespace.Layout(self.folder / "instances" / instance_id)
                layout.create()
                layout.identify(instance_id)
                port = free_port(self._ports)
                proxy = free_port(self._ports) if tier == "WebServer" else None
                instance = self._instances[instance_id] = Instance(instance_id, tier, layout, port, proxy)
            elif instance.tier != tier:
                raise CloudError(f"instance {instance_id} is a {instance.tier} instance, not {tier}")
            return instance

    def has(self, instance_id: str) -> bool:
        """Whether this runtime ever ran the instance."""
        return instance_id in self._instances

    def running(self, instance_id: str) -> bool:
        """Whether the instance is up: launched by a deployment and not stopped since (its app may have
        failed: the machine still runs)."""
        instance = self._instances.get(instance_id)
        return instance is not None and bool(instance.system) and not instance.stopping

    def spawn(self, instance_id: str, argv: list[str], cwd: str, stdio: tuple[Any, Any, Any],
              terminal: bool = False) -> subprocess.Popen:
        """A process the instance's operating system starts (Instance.spawn): Systems Manager's commands and
        sessions. CloudError when the instance is not running."""
        if not self.running(instance_id):
            raise CloudError(f"instance {instance_id} is not running")
        try:
            return self._get(instance_id).spawn(argv, cwd, stdio, terminal)
        except Cancelled:
            raise CloudError(f"instance {instance_id} is stopping") from None

    def job(self, instance_id: str) -> Job | None:
        """The instance's last deployment."""
        return self._get(instance_id).job

    def health(self, instance_id: str) -> Health:
        """From its processes (one exited?) and one /healthz probe."""
        instance = self._get(instance_id)
        if instance.job is not None and not instance.job.done:
            return Health("deploying", f"deploying {instance.job.label}")
        if not instance.processes:
            return Health("stopped", "no process runs")
        exited = instance.exited()
        if exited:
            return Health("exited", f"the {exited[0]} process exited with status {exited[1]}")
        answer = processes.probe(instance.healthz)
        label = answer.body.get("version")
        named = label if isinstance(label, str) else None
        if answer.status != 200:
            return Health("unanswered", f"/healthz: {answer.error or answer.status}", named)
        return Health("ok", f"/healthz answers 200 for version {named}", named)

    def address(self, instance_id: str) -> tuple[str, int]:
        """(host, port) of its nginx on a web instance, of its app on a worker."""
        return self._get(instance_id).address

    def process_groups(self, instance_id: str) -> dict[str, int]:
        """The process group of each of its processes ("web": the Procfile's, "nginx"), for a test to kill one
        as an instance failure would."""
        return {name: process.pid for name, process in self._get(instance_id).processes.items()}

    def instance_folder(self, instance_id: str) -> Path:
        """Its own folder on this machine, which its processes see at the same path (only /var and /opt are
        the instance's), for what runs on it to keep files in."""
        return self._get(instance_id).layout.folder

    def log_folder(self, instance_id: str) -> Path:
        """Its /var/log on this machine (eb-engine.log, eb-hooks.log, cfn-init.log, web.stdout.log, nginx/)."""
        return self._get(instance_id).layout.log

    def stop(self, instance_id: str) -> None:
        """Stop a deployment running on it and every process it runs (SIGTERM to each process group, SIGKILL
        to what is left); its folders stay, and a later deploy() starts it again on the same ports."""
        self._get(instance_id).cancel()

    def abort(self, instance_id: str) -> None:
        """End a deployment running on it (AbortEnvironmentUpdate), leaving its processes: an instance the
        deployment had not flipped yet keeps serving its old version, as EB's do."""
        self._get(instance_id).cancel(keep_processes=True)

    def stop_all(self) -> None:
        for instance in list(self._instances.values()):
            instance.cancel()

    def _get(self, instance_id: str) -> Instance:
        try:
            return self._instances[instance_id]
        except KeyError:
            raise CloudError(f"no instance {instance_id} in this local cloud") from None


def free_port(taken: set[int]) -> int:
    """A port of 127.0.0.1 that nothing listens on now and no other instance has (added to `taken`)."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port not in taken:
            taken.add(port)
            return port
