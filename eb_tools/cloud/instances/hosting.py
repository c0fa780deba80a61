"""Real instances behind one cloud's emulated Elastic Beanstalk (LocalCloud(hosting=...)).

Every instance the emulation models is a process group of the instance runtime running the version EB says
it runs: the emulation's steps start a deployment on a batch's instances and wait, transition after
transition, until each has ended healthy or failed (elasticbeanstalk/hosted.py). A web environment's load
balancer is an nginx (balancer.py) whose targets are its instances that answer their health check, checked
every HEALTH_SECONDS: an instance that fails is dropped, and taken back once it answers again. What a local
run adds to every process of an environment (the cloud's endpoint and credentials...) comes from
`extra_environment`, the run's declared overrides.
"""
from __future__ import annotations

import contextlib
import subprocess
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from eb_tools.cloud.instances.balancer import Balancer
from eb_tools.cloud.instances.jobs import Failure, Health, Job
from eb_tools.cloud.instances.runtime import InstanceRuntime, free_port
from eb_tools.errors import CloudError

HEALTH_SECONDS = 1.0  # how often the load balancers check their targets (an ALB's interval is 5 to 300 s)
# An ALB takes a target out after this many failed checks in a row (EB's default UnhealthyThresholdCount is 5)
# and at once when it stops listening; back in after one passed check here (EB's HealthyThresholdCount: 3).
UNHEALTHY_THRESHOLD = 3
GONE = ("exited", "stopped", "deploying")  # out at once: refusing connections, or deregistered for a deployment
# At most, for the load balancer's connections to a deregistered batch to end (the target group's deregistration
# delay, 20 s by EB's default; here they end as soon as the requests in flight are answered).
DRAIN_SECONDS = 5.0

class Hosting:
    def __init__(self, folder: Path, extra_environment: Callable[[str, dict[str, str]], dict[str, str]],
                 balancer_ports: Mapping[str, int] | None = None, https_ports: Mapping[str, int] | None = None) -> None:
        """`balancer_ports` and `https_ports`: where an environment's load balancer listens for HTTP and, when
        it has an HTTPS listener, HTTPS (others: free ports)."""
        self.folder = folder
        self.runtime = InstanceRuntime(folder)
        self._extra = extra_environment
        self._ports = dict(balancer_ports or {})
        self._https_ports = dict(https_ports or {})
        self._balancers: dict[str, Balancer] = {}
        self._members: dict[str, Callable[[], list[str]]] = {}
        self._lock = threading.Lock()
        self._routing = threading.Lock()  # one check of the targets at a time (the watcher's, a step's)
        self._stopping = threading.Event()
        self._watcher: threading.Thread | None = None
        self._in_service: dict[str, list[tuple[str, int]]] = {}  # environment -> at the last check
        self._failed_checks: dict[str, int] = {}  # instance id -> failed checks in a row (absent: never healthy)
        self._draining: set[str] = set()  # instances leaving their load balancer before a deployment

    def deploy(self, environment: str, tier: str, instance_ids: list[str], label: str, bundle: bytes,
               variables: dict[str, str], application: str) -> None:
        """Start deploying `label` to each instance (the first the command leader); returns at once."""
        env = {**variables, **self._extra(environment, variables)}
        with self._deregistered(environment, instance_ids):  # deploying from then on: out all the same
            for number, instance_id in enumerate(instance_ids):
                self.runtime.deploy(instance_id, tier, label, bundle, env, leader=number == 0,
                                    application=application)
        self.route()

    @contextlib.contextmanager
    def _deregistered(self, environment: str | None, instance_ids: list[str]) -> Iterator[None]:
        """The instances leave their load balancer (`environment`'s, or any: None), and the connections that
        still lead to them end, before their app stops: EB deregisters a batch, or an instance it terminates,
        and waits for the target group's deregistration delay first. (nginx reloads gracefully: its old
        workers, which still route to the instances, serve the requests they hold; a POST they sent to an app
        that had stopped would be a 502, since nginx retries no non-idempotent request.)"""
        balancers = [b for name, b in self._balancers.items() if environment in (None, name)]
        with self._lock:
            self._draining.update(instance_ids)
        try:
            if balancers:
                self.route()
                for balancer in balancers:
                    balancer.drain(DRAIN_SECONDS)
            yield
        finally:
            with self._lock:
                self._draining.difference_update(instance_ids)

    def pending(self, instance_ids: list[str]) -> bool:
        """Whether a deployment still runs on any of them. Once none does, the load balancers have taken the
        healthy ones back before this answers: a rolling deployment's next batch leaves only after that."""
        if any(job is not None and not job.done for job in map(self._job, instance_ids)):
            return True
        self.route()
        return False

    def failures(self, instance_ids: list[str]) -> dict[str, Failure]:
        """{instance id: why its last deployment failed}, for those whose deployment failed."""
        return {i: job.failure for i in instance_ids if (job := self._job(i)) is not None and job.failure}

    def health(self, instance_id: str) -> Health | None:
        """Its health from its processes and /healthz; None for an instance this machine never ran."""
        return self.runtime.health(instance_id) if self.runtime.has(instance_id) else None

    def _job(self, instance_id: str) -> Job | None:
        return self.runtime.job(instance_id) if self.runtime.has(instance_id) else None

    def stop(self, instance_ids: list[str]) -> None:
        """Terminated instances: out of their load balancer, drained, then stopped."""
        with self._deregistered(None, instance_ids):
            for instance_id in instance_ids:
                if self.runtime.has(instance_id):
                    self.runtime.stop(instance_id)

    def abort(self, instance_ids: list[str]) -> None:
        for instance_id in instance_ids:
            if self.runtime.has(instance_id):
                self.runtime.abort(instance_id)

    def running(self, instance_id: str) -> bool:
        """Whether this machine runs the instance now (launched, not stopped)."""
        return self.runtime.has(instance_id) and self.runtime.running(instance_id)

    def spawn(self, instance_id: str, argv: list[str], cwd: str, stdio: tuple[Any, Any, Any],
              terminal: bool = False) -> subprocess.Popen:
        """A process on the instance as its operating system starts one (InstanceRuntime.spawn)."""
        return self.runtime.spawn(instance_id, argv, cwd, stdio, terminal)

    def address(self, instance_id: str) -> tuple[str, int] | None:
        return self.runtime.address(instance_id) if self.runtime.has(instance_id) else None

    def watch(self, environment: str, members: Callable[[], list[str]], balanced: bool,
              certificate: tuple[bytes, bytes] | None = None) -> None:
        """Check `members()` (the environment's instances, read at each check) from now on, and with `balanced`
        (a web environment) give it its load balancer over them, once, listening for HTTPS too with
        `certificate` (its chain and key) when given."""
        with self._lock:
            self._members[environment] = members
            if balanced and environment not in self._balancers:
                port = self._ports.get(environment) or free_port(set())
                https = self._https_ports.get(environment) or free_port({port})
                self._balancers[environment] = Balancer(self.folder / "balancers" / environment,
                                                        f"127.0.0.1:{port}", f"127.0.0.1:{https}").start()
            if balanced:  # nginx refusing a certificate keeps its last configuration, as route() does
                with contextlib.suppress(CloudError):
                    self._balancers[environment].serve_tls(certificate)
            if self._watcher is None:
                self._watcher = threading.Thread(target=self._watch, name="load-balancers", daemon=True)
                self._watcher.start()

    def in_service(self, environment: str) -> list[tuple[str, int]]:
        """The addresses of the environment's instances in service at the last check (see _targets): where its
        load balancer routes, and where sqsd on a worker posts."""
        return list(self._in_service.get(environment, []))

    def balancer_url(self, environment: str, scheme: str = "http") -> str | None:
        """Where the environment's load balancer listens for `scheme` (None: no such listener)."""
        balancer = self._balancers.get(environment)
        if balancer is None or (scheme == "https" and balancer.certificate is None):
            return None
        return f"{scheme}://{balancer.listen if scheme == 'http' else balancer.tls_listen}"

    def instance_folder(self, instance_id: str) -> Path:
        """The instance's own folder (InstanceRuntime.instance_folder)."""
        return self.runtime.instance_folder(instance_id)

    def log_folder(self, instance_id: str) -> Path | None:
        """The instance's /var/log on this machine."""
        return self.runtime.log_folder(instance_id) if self.runtime.has(instance_id) else None

    def forget(self, environment: str) -> None:
        """A terminated environment is no longer checked, and its load balancer goes."""
        with self._lock:
            balancer = self._balancers.pop(environment, None)
            self._members.pop(environment, None)
            self._in_service.pop(environment, None)
        if balancer is not None:
            balancer.stop()

    def _watch(self) -> None:
        while not self._stopping.wait(HEALTH_SECONDS):
            self.route()

    def route(self) -> None:
        """Check every watched environment's instances now; each load balancer routes to those in service."""
        with self._lock:
            watched = list(self._members.items())
        with self._routing:
            for environment, members in watched:
                instance_ids = members()
                targets = self._in_service[environment] = self._targets(instance_ids)
                balancer = self._balancers.get(environment)
                if balancer is not None:
                    with contextlib.suppress(CloudError):
                        balancer.route_to(targets, registered=self._registered(instance_ids))

    def _registered(self, instance_ids: list[str]) -> bool:
        """Whether the environment has instances for its load balancer at all (else 503, as an ALB with no
        registered target answers): an environment scaled to none has none. An instance out of the targets
        for a deployment still counts: an all-at-once deployment's restarts are 502s, not 503s."""
        return any((h := self.health(i)) is not None and h.state != "stopped" for i in instance_ids)

    def _targets(self, instance_ids: list[str]) -> list[tuple[str, int]]:
        """Where a load balancer routes now: its targets in service (healthy once, listening, and fewer than
        UNHEALTHY_THRESHOLD failed checks in a row since), or, when none is, every target that is listening (an
        ALB whose targets are all unhealthy routes to all of them: it fails open)."""
        listening = []
        for instance_id in instance_ids:
            health = self.health(instance_id)
            if health is not None and health.ok:
                self._failed_checks[instance_id] = 0
            elif instance_id in self._failed_checks:
                self._failed_checks[instance_id] += 1
            if health is not None and health.state not in GONE and instance_id in self._failed_checks \
                    and instance_id not in self._draining:
                listening.append(instance_id)
        in_service = [i for i in listening if self._failed_checks[i] < UNHEALTHY_THRESHOLD]
        return [address for i in in_service or listening if (address := self.address(i)) is not None]

    def stop_all(self) -> None:
        self._stopping.set()
        if self._watcher is not None:
            self._watcher.join(timeout=5)
        for name in list(self._balancers):
            self.forget(name)
        self.runtime.stop_all()
