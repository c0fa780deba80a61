"""The layout's promises that import-linter cannot see: what a process actually loads."""
from __future__ import annotations

import json
import subprocess
import sys

VERBS = ("eb_tools.cli", "eb_tools.check", "eb_tools.provision.command", "eb_tools.release.deploy",
         "eb_tools.release.promote", "eb_tools.release.rollback", "eb_tools.release.status",
         "eb_tools.release.versions", "eb_tools.cost.estimate", "eb_tools.remote.run", "eb_tools.remote.shell",
         "eb_tools.logs.reading", "eb_tools.logs.render", "eb_tools.iam.policy")


def _loaded(statements: str) -> list[str]:
    """The modules a fresh interpreter holds after `statements`."""
    code = f"import json, sys\n{statements}\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return list(json.loads(done.stdout.splitlines()[-1]))


def test_the_verbs_that_reach_aws_load_no_emulator():
    """`pip install eb-tools` without the local extra runs check, provision and the release verbs: none of them
    may load moto or the emulated cloud (a bundle checked here included)."""
    loaded = _loaded("import " + ", ".join(VERBS) + "\nfrom pathlib import Path\n"
                     "from eb_tools.check import run\nrun(Path('.'))")
    assert not [m for m in loaded if m.split(".")[0] == "moto" or m.startswith(("eb_tools.cloud", "eb_tools.local"))]


def test_the_emulated_cloud_loads_none_of_the_verbs():
    """The cloud is a library: starting one loads no verb, no stage core and no command line of the toolkit."""
    loaded = _loaded("from eb_tools.cloud.server import LocalCloud\nLocalCloud().start().stop()")
    toolkit = [m for m in loaded if m.startswith("eb_tools.")]
    verbs = ("cli", "check", "provision", "release", "remote", "stage", "local", "bundle", "stage_file")
    assert toolkit and not [m for m in toolkit if m.split(".")[1] in verbs]


def test_every_data_file_of_the_toolkit_ships_in_its_package():
    """A wheel carries only the data files pyproject.toml's package-data names: the option schema, EB's
    resources, the emulation's defaults. One the code reads but the globs miss works from a checkout and fails
    after `pip install eb-tools`."""
    import fnmatch
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    globs = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["eb_tools"]
    package = root / "eb_tools"
    data = [p.relative_to(package).as_posix() for p in package.rglob("*")
            if p.is_file() and p.suffix in (".yaml", ".yml", ".json") and "__pycache__" not in p.parts]
    assert data and [f for f in data if not any(fnmatch.fnmatch(f, g) for g in globs)] == []
