"""moto's internals in one checked place: a moto without what the local cloud uses fails fast, in one line."""
from __future__ import annotations

import ast
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from eb_tools.cloud import moto_internals
from eb_tools.cloud.moto_internals import MotoMismatch, S3Backend

ROOT = Path(__file__).resolve().parent.parent
LOCAL = ROOT / "eb_tools" / "cloud"
# moto's public, documented API, which the local cloud's modules may import directly.
PUBLIC = {"moto": {"mock_aws"}, "moto.server": {"ThreadedMotoServer"},
          "moto.core.base_backend": {"BaseBackend", "BackendDict"}}


def test_the_installed_moto_has_everything_the_local_cloud_uses() -> None:
    assert list(moto_internals.problems()) == []


def test_a_missing_method_stops_the_check_with_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(S3Backend, "get_object")
    line = (f"moto {moto_internals.installed_moto()} lacks moto.s3.models.S3Backend.get_object used by {{}}; "
            "eb_tools was written for moto 5.2.5 (pyproject.toml pins moto[server]>=5.2.5,<5.3): install that "
            "range, or adapt eb_tools/cloud/moto_internals.py")
    found = [str(problem) for problem in moto_internals.problems()]
    assert line.format("eb_tools/cloud/elasticbeanstalk/services.py") in found  # one line per user
    with pytest.raises(MotoMismatch) as raised:
        moto_internals.check()
    assert str(raised.value) == found[0]
    assert re.fullmatch(re.escape(line).replace(r"\{\}", r"eb_tools/cloud/\S+\.py"), found[0])


def test_instance_attributes_are_found_in_moto_s_code(monkeypatch: pytest.MonkeyPatch) -> None:
    """An attribute moto sets in __init__ counts as present; one no moto code sets does not."""
    monkeypatch.setitem(moto_internals.USES, "tests/test_moto_internals.py",
                        ("moto.s3.models:FakeBucket().policy", "moto.sqs.models:Queue()._messages",
                         "moto.s3.models:FakeBucket().no_such_attribute", "moto.no_such_module:Anything"))
    found = [str(problem).split(" used by")[0] for problem in moto_internals.problems()]
    assert found == [f"moto {moto_internals.installed_moto()} lacks moto.s3.models.FakeBucket.no_such_attribute",
                     f"moto {moto_internals.installed_moto()} lacks moto.no_such_module.Anything"]


def test_eb_tools_local_with_a_moto_that_lacks_an_attribute_says_so_in_one_line() -> None:
    """The whole command, as a user meets it after upgrading moto: exit 1, one line, no traceback."""
    script = ("import moto.sqs.models as m; del m.SQSBackend.create_queue; "
              "from eb_tools.cli import main; main(['local', '--cloud-only', '--cloud-port', '1'])")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stdout + done.stderr
    [line] = done.stderr.strip().splitlines()
    assert re.fullmatch(
        re.escape(f"Error: moto {moto_internals.installed_moto()} lacks moto.sqs.models.SQSBackend.create_queue "
                  "used by ") + r"eb_tools/cloud/\S+\.py" + re.escape(
            "; eb_tools was written for moto 5.2.5 (pyproject.toml pins moto[server]>=5.2.5,<5.3): install that "
            "range, or adapt eb_tools/cloud/moto_internals.py"), line)


def test_pyproject_pins_moto_to_the_tested_range_where_it_is_declared() -> None:
    """moto comes with the `local` extra only (the dev extra pulls that in), in the range moto_internals checks."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    listed = [d for d in [*project["dependencies"], *extras["local"], *extras["dev"]] if d.startswith("moto")]
    assert listed == [f"moto[server]{moto_internals.TESTED}"]
    assert "eb-tools[local]" in extras["dev"]
    major, minor, _ = moto_internals.WRITTEN_FOR.split(".")
    assert re.fullmatch(rf">={moto_internals.WRITTEN_FOR},<{major}\.{int(minor) + 1}", moto_internals.TESTED)


def _moto_imports(path: Path) -> list[tuple[str, str]]:
    """(module, name) of every import of moto in a source file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "moto":
            found += [(node.module or "", alias.name) for alias in node.names]
        elif isinstance(node, ast.Import):
            found += [(alias.name, "") for alias in node.names if alias.name.split(".")[0] == "moto"]
    return found


def test_only_moto_internals_imports_moto_s_internals() -> None:
    direct = {f"{path.relative_to(ROOT)}: {module}.{name}"
              for path in LOCAL.rglob("*.py") if path.name != "moto_internals.py"
              for module, name in _moto_imports(path) if name not in PUBLIC.get(module, set())}
    assert direct == set()


def test_every_private_moto_attribute_the_local_cloud_touches_is_listed() -> None:
    """An underscore name read on something that is not ours (not self, not defined in eb_tools) must be one
    moto_internals checks: a private attribute moto drops then fails the check, not a request."""
    ours = set()
    sources = [(path, ast.parse(path.read_text())) for path in (ROOT / "eb_tools").rglob("*.py")]
    for _, tree in sources:
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                ours.add(node.name)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                ours.add(node.attr)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                ours.add(node.id)
    listed = {use.rsplit(".", 1)[-1] for uses in moto_internals.USES.values() for use in uses}
    touched = {node.attr for path, tree in sources if path.is_relative_to(LOCAL) for node in ast.walk(tree)
               if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")}
    assert touched - ours - listed == set()
