"""EB's absolute paths for each instance, by a mount namespace per process.

Hooks and the platform use absolute paths: /var/app/staging, /var/app/current, /var/app/venv/<name>/bin,
/opt/elasticbeanstalk/bin/get-config, /var/log/web.stdout.log. Every process of an instance (a command, a
hook, pip, gunicorn, nginx) starts in a mount namespace of its own (util-linux `unshare --mount`, with
`--map-root-user` when not root; mounts stay private to it) where a shell script mounts the instance's
folders at those paths and then runs the process: /var and /opt are shadowed by a tmpfs holding their
entries bound back from the host (so /var/lib, /var/tmp and the rest stay as they are), then /var/app,
/var/log and /opt/elasticbeanstalk are the instance's, /var/app/venv the virtualenv of its requirements, and
/etc/nginx its nginx prefix, and /run/cloud-init its cloud-init cache (instance-data.json: the instance id an
app reads without calling the metadata service; /run is shadowed as /var is). The network is the machine's:
each instance listens on ports of its own.
"""
from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from eb_tools.errors import CloudError

SHADOWED = (Path("/var"), Path("/opt"))

ENTER = """\
set -eu
venv=$1 cwd=$2
shift 2
path=$PATH
PATH=/usr/sbin:/usr/bin:/sbin:/bin
shadow() {{  # a tmpfs over $1 holding $1's entries, bound back from $2 (where $1 stays reachable)
  mount --rbind "$1" "$2"
  mount -t tmpfs -o mode=755 tmpfs "$1"
  for entry in "$2"/* "$2"/.[!.]*; do
    [ -e "$entry" ] || [ -L "$entry" ] || continue
    name=${{entry##*/}}
    if [ -L "$entry" ]; then ln -s "$(readlink "$entry")" "$1/$name"
    elif [ -d "$entry" ]; then mkdir -p "$1/$name"; mount --rbind "$entry" "$1/$name"
    else touch "$1/$name"; mount --bind "$entry" "$1/$name"; fi
  done
}}
shadow /var {keep_var}
shadow /opt {keep_opt}
shadow /run {keep_run}
mkdir -p /var/app /opt/elasticbeanstalk /run/cloud-init
mount --bind {app} /var/app
mount --bind {cloud_init} /run/cloud-init
mount --bind {log} /var/log
mount --bind {opt} /opt/elasticbeanstalk
if [ -d {nginx} ] && [ -d /etc/nginx ]; then mount --bind {nginx} /etc/nginx; fi
if [ "$venv" != - ]; then mount --bind "$venv" /var/app/venv; fi
PATH=$path
cd "$cwd"
exec "$@"
"""


@dataclass(frozen=True)
class Layout:
    """Where an instance's EB paths live on this machine."""

    folder: Path

    @property
    def app(self) -> Path:
        """/var/app: staging/, current/, and venv/ where the requirements' virtualenv is mounted."""
        return self.folder / "var-app"

    @property
    def log(self) -> Path:
        """/var/log: eb-engine.log, eb-hooks.log, cfn-init.log, web.stdout.log, nginx/."""
        return self.folder / "log"

    @property
    def opt(self) -> Path:
        """/opt/elasticbeanstalk: bin/get-config, deployment/ (the version manifest, the environment)."""
        return self.folder / "opt-elasticbeanstalk"

    @property
    def cloud_init(self) -> Path:
        """/run/cloud-init: instance-data.json."""
        return self.folder / "cloud-init"

    @property
    def nginx(self) -> Path:
        """/etc/nginx of a web instance."""
        return self.folder / "nginx"

    def create(self) -> None:
        """The folders, and the script that mounts them (the host's /var and /opt stay reachable under ns/)."""
        for folder in (self.app / "venv", self.log / "nginx", self.opt / "bin", self.opt / "deployment",
                       self.cloud_init, *(self.folder / "ns" / name for name in ("var", "opt", "run"))):
            folder.mkdir(parents=True, exist_ok=True)
        quoted = {name: shlex.quote(str(path)) for name, path in (
            ("app", self.app), ("log", self.log), ("opt", self.opt), ("nginx", self.nginx),
            ("cloud_init", self.cloud_init), *((f"keep_{name}", self.folder / "ns" / name)
                                               for name in ("var", "opt", "run")))}
        (self.folder / "ns" / "enter.sh").write_text(ENTER.format(**quoted))

    def identify(self, instance_id: str) -> None:
        """cloud-init's cache of what the metadata service told it at boot: of its standardized v1 keys (cloud-init
        docs, "Instance metadata": /run/cloud-init/instance-data.json, world-readable), those naming the cloud and
        the instance."""
        v1 = {"cloud_name": "aws", "platform": "ec2", "instance_id": instance_id}
        (self.cloud_init / "instance-data.json").write_text(json.dumps({"v1": v1, **v1}) + "\n")

    def command(self, argv: list[str], cwd: str = "/", venv: Path | None = None) -> list[str]:
        """`argv` run at `cwd` (an instance path) in a namespace of this instance's paths, with `venv` (a
        folder holding the requirements' virtualenv) at /var/app/venv."""
        return [*unshare(), "/bin/sh", str(self.folder / "ns" / "enter.sh"), str(venv) if venv else "-", cwd,
                *argv]


def unshare() -> list[str]:
    """The command that starts a process in a mount namespace of its own; CloudError, in one line, when this
    machine cannot give one."""
    return _unshare(os.geteuid() == 0)


@cache
def _unshare(root: bool) -> list[str]:
    binary = shutil.which("unshare") or "/usr/bin/unshare"
    command = [binary, "--mount", "--propagation", "private", *([] if root else ["--map-root-user"])]
    try:
        result = subprocess.run([*command, "true"], capture_output=True, text=True, timeout=30)
    except FileNotFoundError:
        raise CloudError("the local cloud's instances need util-linux's unshare; install Debian's util-linux "
                         "package") from None
    if result.returncode != 0:
        raise CloudError(f"the local cloud's instances need a mount namespace of their own, and `{' '.join(command)}"
                         f" true` failed here ({result.stderr.strip() or result.returncode}): run on a Linux "
                         "machine or container that allows them (not in a chroot, with CAP_SYS_ADMIN or user "
                         "namespaces)") from None
    return command


def refuse_shadowed(folder: Path) -> None:
    """Instances see their own /var and /opt: a runtime folder below them would be hidden from its own
    instances."""
    resolved = folder.resolve()
    for shadowed in SHADOWED:
        if resolved.is_relative_to(shadowed):
            raise CloudError(f"the instance runtime's folder {folder} lies under {shadowed}, which its instances "
                             f"see as Elastic Beanstalk's; choose a folder outside {' and '.join(map(str, SHADOWED))}")
