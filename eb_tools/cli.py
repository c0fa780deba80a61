"""The eb_tools command line: parse, call, print. The work lives in the subpackages.

This is the toolkit's single error boundary: whatever a command raises as an `EbToolsError` (and AWS's
refusals that no stage named) becomes one line on stderr and exit status 1, never a traceback.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from eb_tools.errors import EbToolsError, aws_message

if TYPE_CHECKING:
    from eb_tools.stage.target import StageTarget


LOCAL_EXTRA = frozenset({"moto", "werkzeug"})  # what `pip install 'eb-tools[local]'` adds (pyproject.toml)


class _OneLineErrors(click.Group):
    """The group whose commands' errors become one line (see the module docstring)."""

    def invoke(self, ctx: click.Context) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return super().invoke(ctx)
        except EbToolsError as error:
            raise click.ClickException(str(error)) from None
        except (ClientError, BotoCoreError) as error:
            raise click.ClickException(aws_message(error) or str(error)) from None


@click.group(cls=_OneLineErrors)
@click.version_option(package_name="eb-tools")
def main() -> None:
    """Check, bundle, provision, deploy and run locally an Elastic Beanstalk web + worker app."""


@main.command()
@click.option("--file", "stage_file", type=click.Path(dir_okay=False, path_type=Path), default="eb_tools.yaml",
              show_default=True, help="The stage file to write.")
@click.option("--application", help="The EB application's name  [default: this folder's name]")
@click.option("--region", help="The stages' AWS region  [default: AWS_REGION or AWS_DEFAULT_REGION, else eu-west-1]")
@click.option("--stages", help="Comma-separated stage names  [default: local,staging,production]")
@click.option("--alarm-email", help="Where the stages' alarms are mailed.")
@click.option("--mail-from", help="The address the AWS stages' mail comes from  [default: no-reply@ the stage's "
                                  "domain]")
@click.option("--domain", help="Production's domain; the other AWS stages get STAGE.DOMAIN.")
@click.option("--account", help="The AWS account id the stages live in (provision refuses any other).")
@click.option("--force", is_flag=True, help="Replace an existing stage file.")
@click.option("--yes", is_flag=True, help="Ask nothing: take the default of whatever no option gives.")
def init(stage_file: Path, application: str | None, region: str | None, stages: str | None,
         alarm_email: str | None, mail_from: str | None, domain: str | None, account: str | None, force: bool,
         yes: bool) -> None:
    """Write a stage file of your own, asking for what no option gives."""
    from collections.abc import Callable

    from eb_tools.init import command

    def ask(question: str, default: str | None, check: Callable[[str], str]) -> str:
        def checked(value: str) -> str:
            try:
                return check(value)
            except ValueError as error:  # click asks again
                raise click.UsageError(str(error)) from None

        return str(click.prompt(question, default=default, show_default=bool(default), value_proc=checked))

    given = command.Given(application=application, region=region, stages=stages, alarm_email=alarm_email,
                          mail_from=mail_from, domain=domain, account=account)
    command.init(stage_file, given, None if yes else ask, click.echo, force=force)


@main.command()
@click.option("--root", type=click.Path(file_okay=False, exists=True, path_type=Path), default=".",
              show_default=True, help="The application repository.")
@click.option("--stage", default="local", show_default=True,
              help="The stage of eb_tools.yaml to run on this machine, with its database and Redis.")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Where the stage keeps its state and data  [default: .local, or .local-STAGE for another stage]")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True, help="Web app port.")
@click.option("--cloud-port", type=click.IntRange(1, 65535), default=4566, show_default=True,
              help="Port of the emulated AWS endpoint.")
@click.option("--https-port", type=click.IntRange(1, 65535), default=8443, show_default=True,
              help="Port of the load balancer's HTTPS listener, for a stage with a domain.")
@click.option("--eb-seconds", type=click.FloatRange(0, 600), default=1.0, show_default=True,
              help="How long one step of an emulated EB operation takes (a launch, a deployment batch).")
@click.option("--cloud-only", is_flag=True,
              help="Start just the emulated AWS endpoint, to try `eb_tools provision` or the eb CLI against it.")
def local(root: Path, stage: str, data_dir: Path | None, port: int, cloud_port: int, https_port: int,
          eb_seconds: float, cloud_only: bool) -> None:
    """Run the whole system on this machine, with no AWS account."""
    try:
        from eb_tools.local.run import run, run_cloud
    except ModuleNotFoundError as missing:  # moto and werkzeug come with the `local` extra only
        if missing.name not in LOCAL_EXTRA:
            raise
        raise EbToolsError(f"eb_tools local needs the local cloud's packages ({missing.name} is not installed): "
                           "pip install 'eb-tools[local]'") from None

    if cloud_only:
        run_cloud(cloud_port, eb_seconds, click.echo)
        return
    data_dir = data_dir or Path(".local" if stage == "local" else f".local-{stage}")
    run(root.resolve(), data_dir if data_dir.is_absolute() else root / data_dir, port, cloud_port, eb_seconds,
        click.echo, stage, https_port)


@main.command()
@click.argument("stage")
@click.option("--file", "stage_file", type=click.Path(dir_okay=False, path_type=Path), default="eb_tools.yaml",
              show_default=True, help="The stage file.")
@click.option("--template", is_flag=True, help="Print the stage's two templates (network, stage) as JSON and stop.")
@click.option("--dry-run", is_flag=True, help="Print the plan and change nothing.")
@click.option("--yes", is_flag=True, help="Do not ask before changing anything.")
@click.option("--allow-replace", is_flag=True, help="Allow changes that replace a database, bucket, queue or secret.")
@click.option("--version-label", help="A registered version new environments start on [default: EB's sample app].")
def provision(stage_file: Path, stage: str, template: bool, dry_run: bool, yes: bool, allow_replace: bool,
              version_label: str | None) -> None:
    """Create or update STAGE: its network and stage stacks, the EB application and both environments."""
    from eb_tools.provision import command

    command.provision(stage_file, stage, template=template, dry_run=dry_run, yes=yes, allow_replace=allow_replace,
                      echo=click.echo, confirm=click.confirm, version=version_label)


@main.command()
@click.argument("path", type=click.Path(exists=True, path_type=Path), default=".")
@click.option("--output", type=click.Choice(["text", "json"]), default="text", show_default=True)
def check(path: Path, output: str) -> None:
    """Validate the source bundle at PATH (a folder, or a bundle's zip) offline. Exit 0 when it has no errors
    (warnings alone pass), 1 with errors."""
    from eb_tools.check import report, run, run_archive

    findings = run_archive(path) if path.is_file() else run(path.resolve())
    if output == "json":
        click.echo(report.as_json(findings))
    else:
        for line in report.lines(findings):
            click.echo(line)
        for line in report.footer(findings, path):
            click.echo(line, err=True)
    sys.exit(report.exit_code(findings))




STAGE_FILE = click.option("--file", "stage_file", type=click.Path(dir_okay=False, path_type=Path),
                          default="eb_tools.yaml", show_default=True, help="The stage file.")
TIMEOUT = click.option("--timeout", type=click.FloatRange(1), default=2700, show_default=True,
                       help="Seconds to wait for both tiers before rolling back.")
DRY_RUN = click.option("--dry-run", is_flag=True, help="Print the plan and change nothing.")
FORCE = click.option("--force", is_flag=True, help="Go ahead although the label's code cannot run on the stage's "
                                                 "database's migrations (the plan says which).")
SMOKE = click.option("--smoke-url", help="A URL that must answer 200 after the update ('' for none) "
                                         "[default: /healthz/deep through the web environment's URL].")


@main.command()
@click.argument("path", type=click.Path(file_okay=False, exists=True, path_type=Path), default=".")
@click.option("--working-tree", is_flag=True, help="Bundle the files on disk instead of git HEAD.")
@click.option("--output-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Where to write the zip [default: PATH/.elasticbeanstalk/app_versions].")
@click.option("--stage", help="Bundle for this stage of the stage file: with the wheelhouse for its platform when "
                              "it sets bundle: {wheelhouse: true} [default: the lock only].")
@STAGE_FILE
def bundle(path: Path, working_tree: bool, output_dir: Path | None, stage: str | None, stage_file: Path) -> None:
    """Build the source bundle zip as `eb deploy` would, reproducibly."""
    from eb_tools.bundle import build
    from eb_tools.stage_file import load

    root = path.resolve()
    target = load(stage_file).stage(stage).wheelhouse_target() if stage else None
    built = build(root, output_dir or root / ".elasticbeanstalk" / "app_versions", working_tree, target)
    click.echo(f"bundle:  {built.path}")
    click.echo(f"size:    {built.size} bytes, {built.files} files")
    click.echo(f"version: {built.label}")


def _silent(line: str) -> None:
    """Where --output json keeps progress lines out of the JSON."""


def _stages(stage_file: Path, names: list[str]) -> list[StageTarget]:
    from eb_tools.stage.target import resolve

    return resolve(stage_file, names)


@main.command()
@click.argument("stage")
@click.argument("path", type=click.Path(file_okay=False, exists=True, path_type=Path), default=".")
@STAGE_FILE
@click.option("--label", help="The version label [default: from git, as eb_tools bundle names it].")
@click.option("--working-tree", is_flag=True, help="Bundle the files on disk instead of git HEAD.")
@DRY_RUN
@TIMEOUT
@SMOKE
@FORCE
def deploy(stage: str, path: Path, stage_file: Path, label: str | None, working_tree: bool, dry_run: bool,
           timeout: float, smoke_url: str | None, force: bool) -> None:
    """Check, build and put the bundle at PATH on STAGE's web and worker together; roll both back on failure."""
    from eb_tools.release.deploy import deliver, prepare

    root = path.resolve()
    [where] = _stages(stage_file, [stage])
    built = prepare(root, root / ".elasticbeanstalk" / "app_versions", label=label, working_tree=working_tree,
                    echo=click.echo, target=where.stage.wheelhouse_target())
    deliver(where, built, click.echo, dry_run=dry_run, timeout=timeout, smoke=smoke_url, force=force)


@main.command()
@click.argument("source")
@click.argument("destination")
@STAGE_FILE
@click.option("--strategy", type=click.Choice(["in-place", "swap"]), default="in-place", show_default=True,
              help="swap: update DESTINATION's idle web twin, smoke-test it, then swap URLs (blue/green).")
@DRY_RUN
@TIMEOUT
@SMOKE
@FORCE
def promote(source: str, destination: str, stage_file: Path, strategy: str, dry_run: bool, timeout: float,
            smoke_url: str | None, force: bool) -> None:
    """Put the label SOURCE runs (tested, Green) on DESTINATION's web and worker, with no rebuild."""
    from eb_tools.release.promote import promote as run_promote

    src, dst = _stages(stage_file, [source, destination])
    run_promote(src, dst, click.echo, strategy=strategy, dry_run=dry_run, timeout=timeout, smoke=smoke_url,
                force=force)


@main.command()
@click.argument("stages", metavar="SRC [DST]", nargs=-1, required=True)
@STAGE_FILE
@click.option("--output", type=click.Choice(["text", "json"]), default="text", show_default=True)
def diff(stages: tuple[str, ...], stage_file: Path, output: str) -> None:
    """How SRC and DST differ (apart: what their stage-file entries explain), or with one stage, how it differs
    from what its stage file and templates say (EB settings, CloudFormation drift). Exit 1 when unexplained
    differences exist."""
    from eb_tools.release import diff as diffs

    if len(stages) > 2:
        raise click.UsageError(f"diff takes one stage or two, not {len(stages)}")
    targets = _stages(stage_file, list(stages))
    report = diffs.stages(*targets) if len(targets) == 2 else diffs.stage(targets[0])
    if output == "json":
        click.echo(json.dumps(report.as_dict(), indent=2))
    else:
        for line in report.lines():
            click.echo(line)
    sys.exit(1 if report.unexplained else 0)


@main.command()
@click.argument("stage")
@STAGE_FILE
@click.option("--to", "label", help="The label to go back to [default: the one STAGE ran before].")
@DRY_RUN
@TIMEOUT
@SMOKE
@FORCE
def rollback(stage: str, stage_file: Path, label: str | None, dry_run: bool, timeout: float,
             smoke_url: str | None, force: bool) -> None:
    """Put STAGE's web and worker back on an earlier label."""
    from eb_tools.release.rollback import rollback as run_rollback

    [where] = _stages(stage_file, [stage])
    run_rollback(where, click.echo, to=label, dry_run=dry_run, timeout=timeout, smoke=smoke_url, force=force)


@main.command()
@click.argument("stage")
@STAGE_FILE
@click.option("--for", "for_", metavar="DURATION",
              help="Back to sleep after DURATION (2h, 90m, 1h30m, 1d), unless that falls inside the awake hours.")
@DRY_RUN
@click.option("--timeout", type=click.FloatRange(1), default=1800, show_default=True,
              help="Seconds to wait for both tiers to have instances in service.")
@click.option("--output", type=click.Choice(["text", "json"]), default="text", show_default=True)
def wake(stage: str, stage_file: Path, for_: str | None, dry_run: bool, timeout: float, output: str) -> None:
    """Bring STAGE, asleep by its schedule, up now: both tiers at their min until the schedule's next sleep
    (or DURATION)."""
    from eb_tools.release import wake as waking

    length = waking.duration(for_) if for_ is not None else None
    [where] = _stages(stage_file, [stage])
    report = waking.wake(where, click.echo if output == "text" else _silent, for_=length, dry_run=dry_run,
                         timeout=timeout)
    if output == "json":
        click.echo(json.dumps(report, indent=2))


@main.command()
@click.argument("stage", required=False)
@STAGE_FILE
@click.option("--output", type=click.Choice(["text", "json"]), default="text", show_default=True)
def status(stage: str | None, stage_file: Path, output: str) -> None:
    """What every stage (or STAGE) runs: labels, health, instances by version, and its monthly estimate. Exit 1
    when a stage's tiers differ."""
    from eb_tools.cost.report import brief
    from eb_tools.release.status import render, stage_status
    from eb_tools.stage_file import load

    file = load(stage_file)
    reports = [stage_status(where) | {"cost": brief(file, where.name)}
               for where in _stages(stage_file, [stage] if stage else [])]
    if output == "json":
        click.echo(json.dumps(reports, indent=2))
    else:
        for report in reports:
            render(report, click.echo)
            click.echo(f"  {report['cost']['line']}")
    sys.exit(0 if all(r["consistent"] for r in reports) else 1)


@main.command()
@click.argument("stage")
@STAGE_FILE
@click.option("--output", type=click.Choice(["text", "json"]), default="text", show_default=True)
def cost(stage: str, stage_file: Path, output: str) -> None:
    """STAGE's monthly estimate at its environments' min and max, from its templates, its stage-file entry, the
    shipped price table and the stated assumptions. Offline: no AWS call."""
    from eb_tools.cost.estimate import estimate
    from eb_tools.cost.report import render
    from eb_tools.stage_file import load

    result = estimate(load(stage_file), stage)
    if output == "json":
        click.echo(json.dumps(result.as_dict(), indent=2))
    else:
        render(result, click.echo)


@main.command("iam-policy")
@click.argument("stages", metavar="[STAGE]...", nargs=-1)
@click.option("--role", type=click.Choice(["deployer", "provisioner"]), required=True,
              help="deployer: what deploy, promote, rollback, status, versions and logs call (for CI); "
                   "provisioner: what provision calls and its stacks create.")
@STAGE_FILE
@click.option("--output", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="text: the document indented; json: on one line.")
def iam_policy(stages: tuple[str, ...], role: str, stage_file: Path, output: str) -> None:
    """The least-privilege IAM policy document of ROLE for STAGE (every stage of the file when none is named).
    Offline: no AWS call."""
    from eb_tools.iam.policy import document

    found = document(stage_file, role, list(stages))
    click.echo(json.dumps(found, separators=(",", ":")) if output == "json" else json.dumps(found, indent=2))


@main.command()
@click.argument("stage")
@STAGE_FILE
@click.option("--tier", help="web or worker [default: both].")
@click.option("--since", default="1h", show_default=True, help="How far back: 30s, 15m, 1h, 2d.")
@click.option("--follow", is_flag=True, help="Keep showing new lines, polling, until Ctrl-C.")
@click.option("--grep", metavar="TEXT", help="Only the lines containing TEXT (case sensitive).")
@click.option("--trace", metavar="ID", help="One trace across both tiers: the lines whose trace_id is ID.")
@click.option("--output", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="json: one array of lines; with --follow, one JSON object per line.")
def logs(stage: str, stage_file: Path, tier: str | None, since: str, follow: bool, grep: str | None,
         trace: str | None, output: str) -> None:
    """STAGE's app log lines from CloudWatch Logs, both tiers interleaved by time, each prefixed by tier and
    instance."""
    from eb_tools.logs import reading, render
    from eb_tools.logs.query import parse

    query = parse(tier, since, grep, trace)
    [where] = _stages(stage_file, [stage])
    with where.naming_errors():
        reader = reading.Reader(where.verify(), query)
        start = reading.since_ms(query)
        if output == "json" and not follow:
            click.echo(json.dumps([render.as_json(event) for event in reader.read(start)], indent=2))
            return
        shown = render.json_line if output == "json" else render.text
        try:
            if follow:
                reader.follow(start, lambda event: click.echo(shown(event)), where.target.poll_seconds)
            else:
                for event in reader.read(start):
                    click.echo(shown(event))
        except KeyboardInterrupt:  # Ctrl-C: how a follow ends, not an error
            return


@main.command()
@click.option("--stage", "stage", help="The stage whose application to list [default: every stage's].")
@STAGE_FILE
@click.option("--prune", is_flag=True, help="Delete old versions, keeping --keep and every label in use.")
@click.option("--keep", type=click.IntRange(1), default=20, show_default=True, help="Newest versions kept.")
@DRY_RUN
@click.option("--output", type=click.Choice(["text", "json"]), default="text", show_default=True)
def versions(stage: str | None, stage_file: Path, prune: bool, keep: int, dry_run: bool, output: str) -> None:
    """List the application's versions and which stage runs which; --prune removes old ones safely."""
    from eb_tools.release import versions as store

    groups = store.groups(_stages(stage_file, []))  # every stage: a label any of them needs is kept
    if stage:
        groups = [g for g in groups if stage in {w.name for w in g}]
        if not groups:
            raise EbToolsError(f"{stage_file}: no stage {stage}")
    for group in groups:
        with group[0].naming_errors():
            rows = store.survey(group, keep if prune else None)
            if output == "json":
                click.echo(json.dumps(rows, indent=2))
            else:
                click.echo(f"application {group[0].application} ({group[0].target.region}): {len(rows)} versions")
                for row in rows:
                    mark = "  (pruned)" if row["pruned"] else ""
                    click.echo(f"  {row['label']:<28} {row['created'][:16]}  {', '.join(row['used_by'])}{mark}")
            doomed = [row["label"] for row in rows if row["pruned"]]
            if doomed and not dry_run:
                store.delete(group[0], doomed, click.echo if output == "text" else _silent)


@main.command()
@click.argument("stage")
@STAGE_FILE
@DRY_RUN
@click.option("--yes", is_flag=True, help="Do not ask before destroying (not enough for production).")
@click.option("--confirm", "confirm_name", metavar="STAGE", help="The stage's name typed out: production needs it.")
@click.option("--delete-data", is_flag=True,
              help="Also empty and delete the buckets the stack keeps, after a second question.")
def destroy(stage: str, stage_file: Path, dry_run: bool, yes: bool, confirm_name: str | None,
            delete_data: bool) -> None:
    """Destroy STAGE: terminate its environments, delete its stack (keeping its buckets and a final database
    snapshot, by the template's DeletionPolicy) and its network when no other stage uses it."""
    from eb_tools.provision import destroy as destroying
    from eb_tools.stage import runner

    [where] = _stages(stage_file, [stage])
    op = destroying.operation(where, click.echo, confirm_name=confirm_name, yes=yes, delete_data=delete_data,
                              ask=click.confirm)
    runner.carry_out(op, click.echo, dry_run=dry_run)


@main.group()
def db() -> None:
    """A stage's database: snapshots, and the restore drill that proves them."""


VIA = click.option("--via", type=click.Choice(["auto", "worker", "direct"]), default="auto", show_default=True,
                   help="Read the database through a worker instance (Run Command: inside the VPC) or from this "
                        "machine; auto: a worker instance when Systems Manager manages one.")


@db.command("snapshot")
@click.argument("stage")
@STAGE_FILE
@DRY_RUN
@VIA
@click.option("--timeout", type=click.FloatRange(1), default=3600, show_default=True,
              help="Seconds to wait for the snapshot to be available.")
def db_snapshot(stage: str, stage_file: Path, dry_run: bool, via: str, timeout: float) -> None:
    """Take a manual snapshot of STAGE's database, named from its label and the time, recording what a drill
    verifies."""
    from eb_tools.data import snapshots
    from eb_tools.stage import runner

    [where] = _stages(stage_file, [stage])
    runner.carry_out(snapshots.operation(where, click.echo, timeout, via), click.echo, dry_run=dry_run)


@db.command("snapshots")
@click.argument("stage")
@STAGE_FILE
@click.option("--output", type=click.Choice(["text", "json"]), default="text", show_default=True)
def db_snapshots(stage: str, stage_file: Path, output: str) -> None:
    """List STAGE's database snapshots, automated and manual."""
    from eb_tools.data import snapshots

    [where] = _stages(stage_file, [stage])
    with where.naming_errors():
        rows = snapshots.listing(where.verify())
    if output == "json":
        click.echo(json.dumps(rows, indent=2))
    else:
        snapshots.render_listing(where, rows, click.echo)


@db.command("restore")
@click.argument("stage")
@STAGE_FILE
@click.option("--drill", is_flag=True, help="Restore into a new private instance, verify it, time it, delete it.")
@click.option("--into", "into", metavar="TARGET",
              help="Replace stage TARGET's database (STAGE's own, or another's) with the restored copy.")
@click.option("--snapshot", help="The snapshot to restore [default: the stage's latest].")
@click.option("--time", "at", help="Restore the point in time (ISO, UTC unless it says) instead of a snapshot.")
@click.option("--keep", is_flag=True, help="Keep the drill's instance (delete it yourself).")
@click.option("--yes", is_flag=True, help="--into: do not ask before replacing the database (not production).")
@click.option("--confirm", "confirm_name", metavar="STAGE", help="--into: the target's name, typed out (production).")
@DRY_RUN
@VIA
@click.option("--timeout", type=click.FloatRange(1), default=7200, show_default=True,
              help="--into: seconds to wait for each step (a restore, a rename, a replica, the restarts).")
@click.option("--output", type=click.Choice(["text", "json"]), default="text", show_default=True)
def db_restore(stage: str, stage_file: Path, drill: bool, into: str | None, snapshot: str | None, at: str | None,
               keep: bool, yes: bool, confirm_name: str | None, dry_run: bool, via: str, timeout: float,
               output: str) -> None:
    """Restore STAGE's database: as a drill (exit 1 when verification fails or the stage's goal is missed), or
    --into a stage, replacing its database behind its endpoint (planned, then confirmed)."""
    if drill == (into is not None):
        raise EbToolsError("db restore: give --drill (a new instance, verified, then deleted) or --into TARGET "
                           "(replace TARGET's database), one of them")
    if into is not None:
        _restore_into(stage, into, stage_file, snapshot, at, yes, confirm_name, dry_run, via, timeout, output)
        return
    from eb_tools.data import drill as drills
    from eb_tools.stage import runner

    [where] = _stages(stage_file, [stage])
    echo = click.echo if output == "text" else _silent
    report = runner.carry_out(drills.operation(where, snapshot, at, keep, echo, via), echo, dry_run=dry_run)
    if report is None:
        return
    if output == "json":
        click.echo(json.dumps(report.as_dict(), indent=2))
    else:
        drills.render_report(report, click.echo)
    sys.exit(0 if report.passed else 1)


def _restore_into(stage: str, into: str, stage_file: Path, snapshot: str | None, at: str | None, yes: bool,
                  confirm_name: str | None, dry_run: bool, via: str, timeout: float, output: str) -> None:
    from eb_tools.data import restore_into
    from eb_tools.release import execute
    from eb_tools.stage import runner

    source, target = _stages(stage_file, [stage, into]) if stage != into else _stages(stage_file, [stage]) * 2
    echo = click.echo if output == "text" else _silent
    op = restore_into.operation(source, target, snapshot, at, echo, confirm_name=confirm_name, yes=yes,
                                ask=click.confirm, timeout=timeout, restart=execute.refresh, via=via)
    steps = runner.carry_out(op, echo, dry_run=dry_run)
    if output == "json":
        click.echo(json.dumps({"stage": target.name, "dry_run": dry_run, "steps": [
            {"step": name, "seconds": round(seconds, 1)} for name, seconds in steps]}, indent=2))


@main.group()
def secrets() -> None:
    """The secrets a stage generated: rotated with no request or task failing."""


@secrets.command()
@click.argument("stage")
@click.argument("secret", nargs=-1, required=True, type=click.Choice(["flask-key", "redis-token", "database"]))
@STAGE_FILE
@DRY_RUN
@TIMEOUT
def rotate(stage: str, secret: tuple[str, ...], stage_file: Path, dry_run: bool, timeout: float) -> None:
    """Rotate STAGE's SECRET(s): each new one is valid everywhere before the old one stops, and both tiers are
    redeployed on the versions they run so that every process reads them (EB hands secrets over at
    deployment); several secrets share the redeployments."""
    from eb_tools.release.rotate import rotate as run_rotate

    [where] = _stages(stage_file, [stage])
    run_rotate(where, list(secret), click.echo, dry_run=dry_run, timeout=timeout)


TIER = click.option("--tier", type=click.Choice(["web", "worker"]), default="worker", show_default=True,
                    help="The tier whose instance to use: the worker by default, which serves no user and waits "
                         "for long jobs.")
INSTANCE = click.option("--instance", "instance_id", metavar="ID",
                        help="That instance of the tier (an EC2 id) [default: its first healthy one].")


@main.command()
@click.argument("stage")
@click.argument("command", nargs=-1, required=True)
@STAGE_FILE
@TIER
@INSTANCE
@click.option("--timeout", type=click.IntRange(1, 172_800), default=3600, show_default=True,
              help="Seconds the command may run before Systems Manager stops it.")
@click.option("--output", type=click.Choice(["text", "json"]), default="text", show_default=True)
def run(stage: str, command: tuple[str, ...], stage_file: Path, tier: str, instance_id: str | None, timeout: int,
        output: str) -> None:
    """Run COMMAND once on an instance of STAGE's tier, in the app's directory and environment (Systems
    Manager's Run Command), and exit with its exit status. One argument is a shell line (pipes, $NAMES);
    several are a program and its arguments. Put -- before the command."""
    from eb_tools.remote import run as remote

    [where] = _stages(stage_file, [stage])
    text = output == "text"
    outcome = remote.run(where, tier, instance_id, list(command), timeout,
                         out=(lambda s: click.echo(s, nl=False)) if text else _silent,
                         err=(lambda s: click.echo(s, nl=False, err=True)) if text else _silent,
                         progress=lambda line: click.echo(line, err=True))
    if not text:
        click.echo(json.dumps(outcome.as_dict(), indent=2))
    for note in outcome.notes():
        click.echo(note, err=True)
    sys.exit(outcome.exit_code)


@main.command()
@click.argument("stage")
@STAGE_FILE
@TIER
@INSTANCE
def shell(stage: str, stage_file: Path, tier: str, instance_id: str | None) -> None:
    """Open an interactive shell on an instance of STAGE's tier, in the app's directory and environment
    (Session Manager; needs AWS's session-manager-plugin)."""
    from eb_tools.remote.shell import open_shell

    [where] = _stages(stage_file, [stage])
    sys.exit(open_shell(where, tier, instance_id, sys.stdin.buffer, sys.stdout.buffer,
                        lambda line: click.echo(line, err=True)))
