"""A release cycle on the local stage's real instances and MariaDB (issue 26): an expand/contract pair of
migrations deployed, rolled back and rolled forward, each step under another deployment policy, with a
logged-in page watched throughout. A module of its own: a local stage of its own, beside the browser tests'."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import requests

from eb_tools.bundle import included_files
from tests.cloud_clients import local_client
from tests.e2e.conftest import ROOT, LocalRun
from tests.e2e.stage_ops import choose_policies, served_version, watching, web_instance_ids, web_masters
from tests.migration_scripts import CONTRACT, EXPAND


def test_an_expand_contract_cycle_deploys_rolls_back_and_forward_under_each_deployment_policy(
        local_run, account, watched, tmp_path):
    """On the local stage's real instances and MariaDB, under each deployment policy a stage file may choose
    (Rolling, the stage's own, runs in every other deploy here): an expand migration deploys (AllAtOnce), its
    contract step deploys (RollingWithAdditionalBatch), a rollback to the expand release keeps the database
    ahead of the code (Immutable), a rollback past the expand step is refused and changes nothing, and the
    contract release rolls forward again (TrafficSplitting). The policies are the web tier's; the worker, one
    instance whose queue holds its tasks meanwhile, deploys AllAtOnce (its other policies add instance
    deployments and prove nothing more here). Each time the page is served throughout (AllAtOnce may answer
    502: every app restarts at once),
    both tiers end on the label with every instance healthy, and the web tier keeps its instances (in place)
    or has all new ones. Choosing a policy restarts no app."""
    original, cookies = served_version(local_run), watched.page.context.cookies()
    expand = _release(local_run, cookies, ("AllAtOnce", "AllAtOnce", "same"),
                      _deploying(_tree(tmp_path / "expand", {"0006_expand.py": EXPAND}), "schema-expand"))
    assert _revision(local_run) == "0006" and _has_caption(local_run)
    contract = {"0006_expand.py": EXPAND, "0007_contract.py": CONTRACT}
    _release(local_run, cookies, ("RollingWithAdditionalBatch", "AllAtOnce", "same"),
             _deploying(_tree(tmp_path / "contract", contract), "schema-contract"))
    assert _revision(local_run) == "0007" and not _has_caption(local_run)
    _release(local_run, cookies, ("Immutable", "AllAtOnce", "new"), ["rollback", "local"])
    assert served_version(local_run) == expand and _revision(local_run) == "0007"  # migrations never run back
    deep = requests.get(f"{local_run.base}/healthz/deep", timeout=10).json()
    assert deep["schema"] == {"code": "0006", "database": "0007"}, deep
    refused = _eb_tools(local_run, ["rollback", "local", "--label", original])
    assert refused.returncode == 1 and "predates 0006, the expand step that contract migration" in refused.stderr
    assert "--force" in refused.stderr and served_version(local_run) == expand, refused.stdout + refused.stderr
    _release(local_run, cookies, ("TrafficSplitting", "AllAtOnce", "new"),
             _deploying(_tree(tmp_path / "forward", contract), "schema-forward"))
    assert _revision(local_run) == "0007"


def _release(local_run: LocalRun, cookies: list[dict[str, Any]], policies: tuple[str, str, str],
             args: list[str]) -> str:
    """Choose the web and worker policies, run `eb_tools ARGS` while the page is watched, and check what it
    left (see the test); the label served."""
    eb = local_client("elasticbeanstalk", local_run.cloud)
    web_policy, worker_policy, instances = policies
    before, masters = web_instance_ids(eb), web_masters(local_run)
    choose_policies(eb, {"oppima-local-web": web_policy, "oppima-local-worker": worker_policy})
    assert web_masters(local_run) == masters
    with watching(local_run, cookies) as answers:
        done = _eb_tools(local_run, args)
    assert done.returncode == 0, done.stdout + done.stderr
    assert answers and set(answers) <= ({200, 502} if web_policy == "AllAtOnce" else {200}), done.stdout[-4000:]
    label = served_version(local_run)
    for name in ("oppima-local-web", "oppima-local-worker"):
        health = eb.describe_instances_health(EnvironmentName=name, AttributeNames=["All"])["InstanceHealthList"]
        assert {(i["Deployment"]["VersionLabel"], i["HealthStatus"]) for i in health} == {(label, "Ok")}, name
    after = web_instance_ids(eb)
    assert len(after) == len(before) == len(web_masters(local_run)), (before, after)
    assert (after == before) if instances == "same" else not (after & before), (before, after)
    return label


def _deploying(tree: Path, label: str) -> list[str]:
    return ["deploy", "local", str(tree), "--working-tree", "--label", label]


def _eb_tools(local_run: LocalRun, args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(Path(sys.executable).parent / "eb_tools"), *args, "--file", str(ROOT / "eb_tools.yaml"),
                           "--timeout", "240"], env={**os.environ, "AWS_ENDPOINT_URL": local_run.cloud},
                          capture_output=True, text=True, timeout=300)


def _tree(tree: Path, migrations: dict[str, str]) -> Path:
    """The repository's files with these migration scripts added."""
    for name in included_files(ROOT):
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, tree / name)
    for name, text in migrations.items():
        (tree / "core" / "migrations" / "versions" / name).write_text(text)
    return tree


def _revision(local_run: LocalRun) -> str:
    return str(local_run.query("SELECT version_num FROM alembic_version")[0][0])


def _has_caption(local_run: LocalRun) -> bool:
    return bool(local_run.query("SHOW COLUMNS FROM uploads LIKE 'caption'"))
