"""The emulated AWS endpoint: moto's server app with this project's extensions in front.

One HTTP endpoint on 127.0.0.1 answers every service, as moto's server does;
AWS_ENDPOINT_URL pointed at it routes boto3, the app and the `eb` CLI alike.
The server is threaded (the eb CLI, both tiers, sqsd and tests call at once),
while moto's backends are not safe for concurrent use: requests take turns on
moto_internals.BACKENDS, except SQS's ReceiveMessage, which may wait up to
20 s for a message: it takes its turn for each scan of the queue only (sqs_receive.py).
"""
from __future__ import annotations

import io
import socket
import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server

from eb_tools.aws import LOCAL_ACCESS_KEY, LOCAL_SECRET_KEY
from eb_tools.cloud import (
    certificates,
    cfn_resources,
    cfn_stacks,
    elasticache_auth,
    logs_filter_patterns,
    moto_api_data,
    moto_internals,
    rds_backups,
    rds_master_password,
    rds_read_replicas,
    rds_renames,
    s3_bucket_policy,
    secret_rotation,
    secret_versions,
    ses_sandbox,
    sqs_receive,
    ssm,
)
from eb_tools.cloud.cdn import CdnStandIn, distributions
from eb_tools.cloud.data_stores import host as data_stores
from eb_tools.cloud.elasticbeanstalk import persistence
from eb_tools.cloud.elasticbeanstalk import register as register_elasticbeanstalk
from eb_tools.cloud.elasticbeanstalk.clock import ScheduleClock
from eb_tools.cloud.elasticbeanstalk.emulation_settings import EmulationSettings, applied, serving_with
from eb_tools.cloud.elasticbeanstalk.log_streaming import Files, LogStreamer, Published
from eb_tools.cloud.elasticbeanstalk.models import LocalEBBackend, eb_local_backends
from eb_tools.cloud.elasticbeanstalk.schedule_ticker import ScheduleTicker
from eb_tools.cloud.iam import seed_elastic_beanstalk_policies
from eb_tools.cloud.iam_authorization import IamEnforcement
from eb_tools.cloud.instances.hosting import Hosting
from eb_tools.cloud.moto_internals import (
    BACKENDS,
    DEFAULT_ACCOUNT_ID,
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
    secretsmanager_backends,
)
from eb_tools.cloud.s3_cors import S3CorsMiddleware
from eb_tools.cloud.s3_post_policy import S3PostPolicyMiddleware
from eb_tools.errors import CloudError

# The credentials of the local cloud (eb_tools.aws's), by access key. moto accepts any; the POST-policy check
# needs the secret.
LOCAL_CREDENTIALS: Mapping[str, str] = {LOCAL_ACCESS_KEY: LOCAL_SECRET_KEY}


def free_port(host: str = "127.0.0.1", exclude: frozenset[int] = frozenset()) -> int:
    """A port nothing listens on now and that is not in `exclude` (ports promised to others)."""
    while True:
        with socket.socket() as sock:
            sock.bind((host, 0))
            port = int(sock.getsockname()[1])
        if port not in exclude:
            return port


def _waits(environ: dict[str, Any]) -> bool:
    """Whether the request is SQS's ReceiveMessage, which long-polls: by the JSON protocol's target, or by
    the query protocol's Action (in the URL, or in a form body, which is read and put back)."""
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target:
        return bool(target == "AmazonSQS.ReceiveMessage")
    if "Action=ReceiveMessage" in environ.get("QUERY_STRING", ""):
        return True
    if "/sqs/aws4_request" not in environ.get("HTTP_AUTHORIZATION", "") or \
            not environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        return False
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    environ["wsgi.input"] = io.BytesIO(body)
    return b"Action=ReceiveMessage" in body


class OneAtATime:
    """moto's app, one request at a time (see the module docstring); the answer is read whole inside."""

    def __init__(self, app: Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if _waits(environ):
            return self.app(environ, start_response)
        with BACKENDS:
            answer = self.app(environ, start_response)
            try:
                return [b"".join(answer)]
            finally:
                close = getattr(answer, "close", None)
                if close is not None:
                    close()


class _QuietHandler(MotoRequestHandler):
    """moto's handler without a log line per request: the `eb` CLI polls a lot."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class LocalCloud:
    """Threaded servers for the emulated AWS endpoint and for the CloudFront stand-in in front of its
    distributions (cdn.py, on a port of its own); `start()` returns once both listen. Its emulated EB takes
    `eb_transition_seconds` per simulated step (a launch, a deployment batch, a termination), which may
    change while it runs; another cloud in the same process has its own. Given a `data_dir`, its RDS instances
    and ElastiCache groups are real servers keeping their data there (data_stores); without one, records. Its
    environments' scheduled actions are applied when due by `schedule_clock` (default: the time it is; a test
    makes it start elsewhere and run faster, so that a night passes in seconds), without API calls. With
    `enforce_iam`, requests signed by an IAM user's access key are judged by that user's policies as IAM judges
    them (iam_authorization.py); without it, as by moto, every request is allowed."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0,
                 credentials: Mapping[str, str] = LOCAL_CREDENTIALS, eb_transition_seconds: float = 2.0,
                 cdn_port: int = 0, eb_settings: EmulationSettings | None = None,
                 data_dir: Path | None = None, hosting: Hosting | None = None,
                 ses_production_access: bool = False, rotation_day_seconds: float = 86_400.0,
                 schedule_clock: ScheduleClock | None = None, enforce_iam: bool = False) -> None:
        self.host = host
        # IAM users' requests judged by their policies, as AWS does (iam_authorization.py); off: moto's way,
        # every request allowed.
        self.enforce_iam = enforce_iam
        # SES's sandbox, as for a new AWS account, unless the cloud stands for one that left it (every region).
        self.ses_account = ses_sandbox.SesAccount(production_access=ses_production_access)
        self.data_stores = data_stores.DataStores(data_dir) if data_dir else None
        # How long a day of secret rotation schedules lasts on this cloud's clock (less in tests).
        self.rotation_clock = secret_rotation.RotationClock(day_seconds=rotation_day_seconds)
        # The emulated EB's settings, changeable while it runs; `eb_transition_seconds` is the usual one.
        self.eb_settings = eb_settings or EmulationSettings(transition_seconds=eb_transition_seconds)
        self.eb_settings.hosting = hosting  # real instances, or (None) instances as records only
        if schedule_clock is not None:
            self.eb_settings.schedule_clock = schedule_clock
        self.port = port or free_port(host)
        self.cdn_port = cdn_port or free_port(host, exclude=frozenset({self.port}))
        self.credentials = credentials
        self._servers: list[BaseWSGIServer] = []
        self._threads: list[threading.Thread] = []
        self._log_streaming: LogStreamer | None = None
        self._log_regions: set[str] = set()  # where instance logs were published
        self._ticker = ScheduleTicker(self.account, self.eb_settings)

    @property
    def account(self) -> str:
        """The account the cloud's own credentials act in (moto's default one)."""
        return str(DEFAULT_ACCOUNT_ID)

    def _eb(self, region: str) -> LocalEBBackend:
        backend: LocalEBBackend = eb_local_backends[self.account][region]
        return backend

    @property
    def eb_transition_seconds(self) -> float:
        """How long each simulated EB step takes in this cloud."""
        return self.eb_settings.transition_seconds

    @eb_transition_seconds.setter
    def eb_transition_seconds(self, seconds: float) -> None:
        """From now on (the steps scheduled from now on), each simulated EB step takes `seconds`."""
        self.eb_settings.transition_seconds = seconds

    @property
    def schedule_clock(self) -> ScheduleClock:
        """The clock this cloud's scheduled actions are judged by."""
        return self.eb_settings.schedule_clock

    @schedule_clock.setter
    def schedule_clock(self, clock: ScheduleClock) -> None:
        """From the next tick on, scheduled actions are judged by `clock` (a test's: starting where it needs, fast)."""
        self.eb_settings.schedule_clock = clock

    def schedule_now(self) -> datetime:
        """The time by the clock this cloud's scheduled actions are judged by (`schedule_clock`)."""
        return self.eb_settings.schedule_clock.now()

    @property
    def trusted_ca(self) -> Path | None:
        """The certificate of the CA the data servers' TLS certificates chain to, once one was issued: what a
        client of them trusts here, where AWS's nodes chain to a public CA."""
        if self.data_stores is None or not self.data_stores.ca.certificate.is_file():
            return None
        return self.data_stores.ca.certificate

    @property
    def ses_production_access(self) -> bool:
        """Whether the account left SES's sandbox: mail may go to unverified recipients (SESv2 GetAccount's
        ProductionAccessEnabled). New accounts are in the sandbox."""
        return self.ses_account.production_access

    @ses_production_access.setter
    def ses_production_access(self, enabled: bool) -> None:
        """From the next request on: as when AWS grants (or, for a test, withdraws) production access."""
        self.ses_account.production_access = enabled

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def cdn_url(self) -> str:
        """The CloudFront stand-in's base: a distribution is served under <cdn_url>/<distribution id>."""
        return f"http://{self.host}:{self.cdn_port}"

    def cdn_url_for(self, url: str) -> str:
        """Where the stand-in serves the distribution whose https://<domain> is `url`; `url` itself when no
        distribution of this cloud has that domain."""
        domain = url.removeprefix("https://").rstrip("/")
        found = moto_internals.distribution_with_domain(self.account, domain)
        return self.distribution_url(found) if found else url

    def distribution_url(self, distribution_id: str) -> str:
        """Where the stand-in serves a distribution: what https://<its domain name> is in AWS."""
        return f"{self.cdn_url}/{distribution_id}"

    def start(self) -> LocalCloud:
        moto_internals.check()  # a moto without what the extensions use stops here, in one line
        moto_internals.once("elasticbeanstalk", register_elasticbeanstalk)
        cfn_resources.register()  # resources CloudFormation creates for real, or refuses
        cfn_stacks.register()  # change sets, outputs and rollbacks as CloudFormation does them
        rds_backups.register()  # snapshots are dumps of the data servers, restores new servers loaded from them
        s3_bucket_policy.register()  # bucket policies' conditions as S3 judges them
        moto_api_data.register()  # moto's dashboard data, whatever the cloud holds
        sqs_receive.register()  # each receive takes or dead-letters a message once, however many poll at once
        ses_sandbox.register()  # identities verified by their owners, and the sandbox's recipients, as in SES
        elasticache_auth.register()  # a replication group's AUTH token rotated (ROTATE, then SET), for real
        rds_master_password.register()  # a DB instance's master password changed on its server
        rds_renames.register()  # a renamed DB instance answers at its new name's endpoint, its replicas following
        rds_read_replicas.register()  # a read replica made through the API is a server following its source
        secret_versions.register()  # a secret's value is its AWSCURRENT version's, wherever the label moves
        ssm.register()  # Run Command and Session Manager on the instances this cloud runs, for real
        secret_rotation.register()  # RotateSecret runs a hosted rotation function for real; schedules fall due
        logs_filter_patterns.register()  # FilterLogEvents matches JSON and term patterns as CloudWatch Logs does
        seed_elastic_beanstalk_policies()
        # CORS outermost: S3 sets its CORS headers on every answer to a browser, refusals of a form included.
        # Every request is served with this cloud's settings of the emulated EB and its SES account (moto's
        # backends are shared).
        moto = data_stores.serving_with(serving_with(OneAtATime(DomainDispatcherApplication(create_backend_app)),
                                                     self.eb_settings), self.data_stores)
        moto = ses_sandbox.serving_with(moto, self.ses_account)
        moto = secret_rotation.serving_with(moto, self.rotation_clock)
        s3 = S3CorsMiddleware(S3PostPolicyMiddleware(moto, self.credentials))
        # IAM in front of all: a refused request reaches no extension
        app: Any = IamEnforcement(s3, own_keys=self.credentials) if self.enforce_iam else s3
        access_key, secret_key = next(iter(self.credentials.items()))
        cdn = CdnStandIn(app, distributions(self.url, access_key, secret_key))
        for name, port, served in (("local-cloud", self.port, app), ("local-cdn", self.cdn_port, cdn)):
            server = make_server(self.host, port, served, threaded=True, request_handler=_QuietHandler)
            thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)
            thread.start()
            self._servers.append(server)
            self._threads.append(thread)
        self._ticker.start()
        return self

    def publish_instance_logs(self, environment: str, files: Mapping[str, Path], region: str) -> None:
        """From now on the emulated EB environment's instance logs are `files`: {path on an instance, e.g.
        /var/log/web.stdout.log: the file on this machine}, the first instance's; `eb logs` fetches them
        (RequestEnvironmentInfo), and they stream to CloudWatch Logs while the environment's StreamLogs is true,
        as on EB. A file in the /var/log of an instance this cloud runs stands for that path on every instance
        it runs: each streams its own."""
        self._eb(region).publish_logs(environment, files)
        self._log_regions.add(region)
        if self._log_streaming is None:
            self._log_streaming = LogStreamer(self.url, published=self._published_instance_logs).start()

    def _published_instance_logs(self) -> Published:
        return {environment: (region, self._instances_files(environment, region, files))
                for region in sorted(self._log_regions)
                for environment, files in self._eb(region).published_logs().items()}

    def _instances_files(self, environment: str, region: str, files: Mapping[str, Path]) -> Files:
        """{instance id: its files} of an environment's instances (see publish_instance_logs)."""
        ids = self._instance_ids(environment, region)
        hosting = self.eb_settings.hosting
        folders = {i: folder for i in ids if hosting is not None and (folder := hosting.log_folder(i)) is not None}
        own = {path: file.relative_to(folder) for path, file in files.items() for folder in folders.values()
               if file.is_relative_to(folder)}
        found: Files = {}
        for number, instance in enumerate(ids):
            found[instance] = {path: file for path, file in files.items() if path not in own} if number == 0 else {}
            if instance in folders:
                found[instance] |= {path: folders[instance] / relative for path, relative in own.items()}
        return found

    # -- What the local stage keeps between runs, which no AWS API reads or writes ------------------------------
    def export_records(self, region: str) -> dict[str, Any]:
        """The emulated EB's records in `region` (applications with their versions and saved configurations,
        environments, events) as JSON-ready data; an operation still running is first run to its end, at the
        times its steps were due, as it goes on in AWS while nobody watches."""
        with applied(self.eb_settings):
            return persistence.export(self._eb(region))

    def restore_records(self, region: str, records: dict[str, Any]) -> None:
        """Put records `export_records` gave (an earlier cloud's) into this cloud's EB in `region`, which must
        hold none yet; a CloudError (one line) names what cannot be rebuilt. This cloud serves them from then on
        (its ticker applies their scheduled actions)."""
        backend = self._eb(region)
        persistence.restore(backend, records)
        with backend.lock:
            backend.served_by.update(dict.fromkeys(backend.environments, self.eb_settings))

    def queued_messages(self, region: str, queue_url: str) -> list[tuple[str, dict[str, Any]]] | None:
        """Every message of the queue, those in flight or waiting for a retry too (which no receive would
        show): body and message attributes; None when there is no such queue."""
        return moto_internals.queue_messages(self.account, region, queue_url.rstrip("/").rsplit("/", 1)[-1])

    def keep_version_id(self, bucket: str, key: str, current: str, wanted: str) -> None:
        """Give version `current` of an object the id `wanted`: a restored object keeps the version id it had
        (S3's API has no way to choose one; AWS never renumbers a version)."""
        moto_internals.keep_version_id(self.account, bucket, key, current, wanted)

    def sent_mail(self, region: str) -> dict[str, Any]:
        """What SES has sent in `region` (no API lists it): each message's kind and fields, and the count
        SES's quota reports, as JSON-ready data."""
        return moto_internals.sent_mail(self.account, region)

    def verify_email_identity(self, region: str, identity: str) -> None:
        """Mark an SES identity of `region` (an address or a domain, created through SES or a stack) verified:
        what its owner following SES's link, or SES finding the domain's DKIM records, does in AWS, which
        cannot happen here. A CloudError (one line) when there is no such identity."""
        ses_sandbox.verify(self.account, region, identity)

    def issue_certificate(self, region: str, domain: str, arn: str) -> None:
        """ACM in `region` holds a certificate for `domain` under `arn`, signed by the local CA (trusted_ca):
        what the domain's owner requesting it and publishing its DNS validation record does in AWS, which
        cannot happen here. Needs a data folder, where the CA is kept."""
        if self.data_stores is None:
            raise CloudError("a local cloud without a data folder has no CA to sign a certificate with")
        folder = self.data_stores.ca.folder / "certificates" / domain
        certificates.issue(self.account, region, arn, domain, self.data_stores.ca, folder)

    def run_due_rotations(self, region: str) -> None:
        """Rotate the secrets of `region` whose rotation schedule has fallen due on this cloud's clock, as Secrets
        Manager does on its own (the next Secrets Manager request this cloud serves does it too)."""
        with BACKENDS, secret_rotation.applied(self.rotation_clock):
            secret_rotation.run_due(secretsmanager_backends[self.account][region])

    def restore_sent_mail(self, region: str, mail: dict[str, Any]) -> int:
        """Put back mail `sent_mail` gave (an earlier cloud's), where /moto-api/data.json lists it; how many
        messages."""
        return moto_internals.restore_sent_mail(self.account, region, mail)

    # -- Real instances (a cloud given hosting) -------------------------------------------------------------------
    def instance_urls(self, environment: str) -> list[str]:
        """Where each of the environment's instances in service at the last health check is reached (its nginx
        on a web instance, its app on a worker): what sqsd on a worker instance posts to."""
        hosting = self.eb_settings.hosting
        if hosting is None:
            return []
        return [f"http://{host}:{port}" for host, port in hosting.in_service(environment)]

    def instance_log_folders(self, environment: str, region: str) -> list[Path]:
        """Each of the environment's instances' /var/log on this machine (those it has run)."""
        hosting = self.eb_settings.hosting
        if hosting is None:
            return []
        folders = (hosting.log_folder(i) for i in self._instance_ids(environment, region))
        return [folder for folder in folders if folder is not None]

    def _instance_ids(self, environment: str, region: str) -> list[str]:
        backend = self._eb(region)
        with backend.lock:
            return [i.id for e in backend.environments.values() if e.name == environment and e.status != "Terminated"
                    for i in e.instances]

    def balancer_url(self, environment: str, scheme: str = "http") -> str | None:
        """Where a web environment's load balancer listens for `scheme` (its CNAME's, or with "https" its
        domain's, stand-in), once it has instances; None without such a listener."""
        hosting = self.eb_settings.hosting
        return hosting.balancer_url(environment, scheme) if hosting is not None else None

    def stop_instances(self) -> None:
        """Stop every instance and load balancer (a deployment still running on one fails)."""
        if self.eb_settings.hosting is not None:
            self.eb_settings.hosting.stop_all()

    def stop(self) -> None:
        self._ticker.stop()
        self.stop_instances()
        if self._log_streaming is not None:
            self._log_streaming.stop()
            self._log_streaming = None
        for server in self._servers:
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._servers, self._threads = [], []
        if self.data_stores is not None:
            self.data_stores.stop_all()
