"""What an instance uploads for RequestEnvironmentInfo: the tail of its log files, or all of them zipped.

EB's Python platform on Amazon Linux 2023 logs the Procfile's processes to /var/log/web.stdout.log, nginx
to /var/log/nginx/, the worker daemon to /var/log/aws-sqsd/default.log, and its own steps to
/var/log/eb-engine.log. The emulation runs no instance: an environment's log files are what it is told
(`publish_logs`, e.g. by `eb_tools local` through LocalCloud.publish_instance_logs for the processes it
runs, shown as the first instance's); every other instance, and every environment nobody published for,
has the platform's files, empty (the emulation's choice: EB's would hold the platform's own lines). A tail
is each file's last 100 lines under EB's header (users' `eb logs` transcripts). InstanceLogs is the
backend's part: what was published for each environment, RequestEnvironmentInfo, which has the instances
compile their logs into EB's storage bucket, and RetrieveEnvironmentInfo, which links to what they uploaded.
"""
from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

from eb_tools.cloud.elasticbeanstalk import storage
from eb_tools.cloud.elasticbeanstalk.backend_core import EBBackendCore, operation
from eb_tools.cloud.elasticbeanstalk.exceptions import InvalidParameterValue

TAIL_LINES = 100
RULE = "-" * 37
PLATFORM_FILES = {"WebServer": ["/var/log/eb-engine.log", "/var/log/web.stdout.log", "/var/log/nginx/access.log",
                                "/var/log/nginx/error.log"],
                  "Worker": ["/var/log/eb-engine.log", "/var/log/web.stdout.log", "/var/log/nginx/access.log",
                             "/var/log/nginx/error.log", "/var/log/aws-sqsd/default.log"]}


def _files(published: Mapping[str, Path], tier: str) -> dict[str, bytes]:
    """An instance's log files: the platform's, empty, and the `published` ones' contents."""
    found = {path: b"" for path in PLATFORM_FILES[tier]}
    for path, local in published.items():
        try:
            found[path] = local.read_bytes()
        except OSError:
            found[path] = b""  # not written yet
    return found


def tail(published: Mapping[str, Path], tier: str) -> tuple[bytes, int]:
    """The tail an instance uploads (its `published` files beside the platform's), and how many logs it holds."""
    files = _files(published, tier)
    parts = []
    for path, data in sorted(files.items()):
        lines = data.decode(errors="replace").splitlines()[-TAIL_LINES:]
        parts.append("\n".join([RULE, path, RULE, *lines, ""]))
    return "\n".join(parts).encode(), len(files)


def bundle(published: Mapping[str, Path], tier: str) -> tuple[bytes, int]:
    """The zip of every log file an instance uploads (paths without the leading /), and how many."""
    files = _files(published, tier)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in sorted(files.items()):
            archive.writestr(path.lstrip("/"), data)
    return out.getvalue(), len(files)


class InstanceLogs(EBBackendCore):
    def __init__(self, region_name: str, account_id: str) -> None:
        super().__init__(region_name, account_id)
        self.log_files: dict[str, dict[str, Path]] = {}  # environment -> {path on an instance: file published}

    def publish_logs(self, environment: str, files: Mapping[str, Path]) -> None:
        """From now on, the logs of `environment` on its first instance are `files`:
        {path on an instance: the file on this machine}."""
        with self.lock:
            self.log_files[environment] = dict(files)

    def published_logs(self) -> dict[str, dict[str, Path]]:
        """The files published for each environment."""
        with self.lock:
            return {environment: dict(files) for environment, files in self.log_files.items()}

    @operation
    def request_info(self, env_id: str | None, name: str | None, info_type: str) -> None:
        """The instances compile their logs and upload them to the storage bucket, one transition later."""
        if info_type not in ("tail", "bundle"):
            raise InvalidParameterValue(f"Value {info_type} at 'InfoType' failed to satisfy constraint: Member "
                                        "must satisfy enum value set: [tail, bundle]")
        env = self._environment(env_id, name)
        self._event("requestEnvironmentInfo is starting.", env=env)
        compile_ = tail if info_type == "tail" else bundle
        verb = "tailing" if info_type == "tail" else "bundling"

        def upload(when: datetime) -> None:
            collected = []
            for number, instance in enumerate(env.instances):
                data, count = compile_(self.log_files.get(env.name, {}) if number == 0 else {}, env.tier)
                suffix = "out" if info_type == "tail" else "zip"
                # The emulation's key layout under EB's storage bucket.
                key = f"resources/environments/logs/{info_type}/{env.id}/{instance.id}/{when:%Y%m%dT%H%M%S%f}.{suffix}"
                storage.put(self.account_id, self.region_name, key, data)
                collected.append({"InfoType": info_type, "Ec2InstanceId": instance.id, "SampleTimestamp": when,
                                  "key": key})
                self._event(f"[Instance: {instance.id}] Successfully finished {verb} {count} log(s)", env=env,
                            when=when)
            env.info[info_type] = collected
            self._event("Pulled logs for environment instances.", env=env, when=when)  # ebcli's logs.pulled

        self._later(upload)

    @operation
    def retrieve_info(self, env_id: str | None, name: str | None, info_type: str,
                      endpoint: str) -> list[dict[str, object]]:
        """The last compiled logs of each instance, as presigned links through `endpoint`."""
        env = self._environment(env_id, name)
        return [{"InfoType": item["InfoType"], "Ec2InstanceId": item["Ec2InstanceId"],
                 "SampleTimestamp": item["SampleTimestamp"],
                 "Message": storage.presigned_url(endpoint, self.region_name, self.account_id, str(item["key"]))}
                for item in env.info.get(info_type, [])]
