"""The eb_tools command line: parse, call, print. The work lives in the subpackages.

This is the toolkit's single error boundary: whatever a command raises as an `EbToolsError` (and AWS's
refusals that no stage named) becomes one line on stderr (one per problem, for a stage file with several) and
exit status 1, never a traceback. Exit status 2 is click's, for usage errors.
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


class _ErrorLines(click.ClickException):
    """An error shown as `Error: ` lines: one, or one per problem (a stage file's several problems)."""

    def format_message(self) -> str:
        return self.message.replace("\n", "\nError: ")


class _Aliased(click.Option):
    """An option whose later names are former spellings: they keep working, and the help shows the first."""

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        names, self.opts = self.opts, self.opts[:1]
        try:
            return super().get_help_record(ctx)
        finally:
            self.opts = names


class _OneLineErrors(click.Group):
    """The group whose commands' errors become one line (see the module docstring)."""

    def invoke(self, ctx: click.Context) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return super().invoke(ctx)
        except EbToolsError as error:
            raise _ErrorLines(str(error)) from None
        except (ClientError, BotoCoreError) as error:
            raise click.ClickException(aws_message(error) or str(error)) from None


@click.group(cls=_OneLineErrors)
@click.version_option(package_name="eb-tools")
def main() -> None:
    """Check, bundle, provision, release, operate and run locally an Elastic Beanstalk web + worker app.

    Exit status: 0 ok, 1 failed or differences found, 2 usage error.
    """


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
    """Write a stage file of your own, asking what no option gives."""
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
@click.option("--label", "--version-label", "label", cls=_Aliased,
              help="A registered version new environments start on [default: EB's sample app].")
@click.option("--output", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="json: one JSON document (the plan, and the outputs), the progress lines left out.")
def provision(stage_file: Path, stage: str, template: bool, dry_run: bool, yes: bool, allow_replace: bool,
              label: str | None, output: str) -> None:
    """Create or update STAGE: stacks, application, environments.

    Its network and stage stacks, the EB application and both environments.
    """
    from eb_tools.provision import command

    as_json = output == "json" and not template  # --template prints JSON already
    plans: list[dict[str, Any]] = []
    outputs = command.provision(stage_file, stage, template=template, dry_run=dry_run, yes=yes,
                                allow_replace=allow_replace, echo=_silent if as_json else click.echo,
                                confirm=lambda question: click.confirm(question, err=as_json), version=label,
                                on_plan=lambda plan: plans.append(plan.as_dict()))
    if as_json:
        click.echo(json.dumps({"stage": stage, "dry_run": dry_run, "plan": plans[-1] if plans else None,
                               "outputs": outputs}, indent=2))


@main.command()
@click.argument("path", type=click.Path(exists=True, path_type=Path), default=".")
@click.option("--output", type=click.Choice(["text", "json"]), default="text", show_default=True)
def check(path: Path, output: str) -> None:
    """Validate a source bundle (folder or zip) offline.

    Validate the source bundle at PATH (a folder, or a bundle's zip). Exit 0 when it has no errors (warnings
    alone pass), 1 with errors.
    """
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
OUTPUT = click.option("--output", type=click.Choice(["text", "json"]), default="text", show_default=True,
                      help="json: one JSON document on stdout, the progress lines left out.")


@main.command()
@click.argument("path", type=click.Path(file_okay=False, exists=True, path_type=Path), default=".")
@click.option("--working-tree", is_flag=True, help="Bundle the files on disk instead of git HEAD.")
@click.option("--output-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Where to write the zip [default: PATH/.elasticbeanstalk/app_versions].")
@click.option("--stage", help="Bundle for this stage of the stage file: with the wheelhouse for its platform when "
                              "it sets bundle: {wheelhouse: true} [default: the lock only].")
@STAGE_FILE
@OUTPUT
def bundle(path: Path, working_tree: bool, output_dir: Path | None, stage: str | None, stage_file: Path,
           output: str) -> None:
    """Build the source bundle zip reproducibly, as eb deploy does."""
    from eb_tools.bundle import build
    from eb_tools.stage_file import load

    root = path.resolve()
    target = load(stage_file).stage(stage).wheelhouse_target() if stage else None
    built = build(root, output_dir or root / ".elasticbeanstalk" / "app_versions", working_tree, target)
    if output == "json":
        click.echo(json.dumps({"bundle": str(built.path), "size": built.size, "files": built.files,
                               "label": built.label}, indent=2))
        return
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
@OUTPUT
def deploy(stage: str, path: Path, stage_file: Path, label: str | None, working_tree: bool, dry_run: bool,
           timeout: float, smoke_url: str | None, force: bool, output: str) -> None:
    """Build PATH and put it on STAGE's web and worker together.

    Check, build and put the bundle at PATH on STAGE's web and worker together; roll both back on failure.
    """
    from eb_tools.release.deploy import deliver, prepare

    root = path.resolve()
    [where] = _stages(stage_file, [stage])
    echo = click.echo if output == "text" else _silent
    built = prepare(root, root / ".elasticbeanstalk" / "app_versions", label=label, working_tree=working_tree,
                    echo=echo, target=where.stage.wheelhouse_target())
    _released(where, deliver(where, built, echo, dry_run=dry_run, timeout=timeout, smoke=smoke_url, force=force),
              dry_run, output)


def _released(where: StageTarget, label: str, dry_run: bool, output: str) -> None:
    """A release verb's JSON document: each tier of the stage as it is after the verb (release/execute.py)."""
    from eb_tools.release import execute

    if output == "json":
        with where.naming_errors():
            click.echo(json.dumps(execute.summary(where, label, dry_run), indent=2))


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
@OUTPUT
def promote(source: str, destination: str, stage_file: Path, strategy: str, dry_run: bool, timeout: float,
            smoke_url: str | None, force: bool, output: str) -> None:
    """Put the label SOURCE runs on DESTINATION, with no rebuild.

    The label SOURCE runs (tested, Green) goes on DESTINATION's web and worker.
    """
    from eb_tools.release.promote import promote as run_promote

    src, dst = _stages(stage_file, [source, destination])
    label = run_promote(src, dst, click.echo if output == "text" else _silent, strategy=strategy, dry_run=dry_run,
                        timeout=timeout, smoke=smoke_url, force=force)
    _released(dst, label, dry_run, output)


@main.command()
@click.argument("stages", metavar="SRC [DST]", nargs=-1, required=True)
@STAGE_FILE
@click.option("--output", type=click.Choice(["text", "json"]), default="text", show_default=True)
def diff(stages: tuple[str, ...], stage_file: Path, output: str) -> None:
    """Show how two stages, or a stage and its stage file, differ.

    How SRC and DST differ (apart: what their stage-file entries explain), or with one stage, how it differs
    from what its stage file and templates say (EB settings, CloudFormation drift). Exit 1 when unexplained
    differences exist.
    """
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
@click.option("--label", "--to", "label", cls=_Aliased,
              help="The label to go back to [default: the one STAGE ran before].")
@DRY_RUN
@TIMEOUT
@SMOKE
@FORCE
@OUTPUT
def rollback(stage: str, stage_file: Path, label: str | None, dry_run: bool, timeout: float,
             smoke_url: str | None, force: bool, output: str) -> None:
    """Put STAGE's web and worker back on an earlier label."""
    from eb_tools.release.rollback import rollback as run_rollback

    [where] = _stages(stage_file, [stage])
    label = run_rollback(where, click.echo if output == "text" else _silent, to=label, dry_run=dry_run,
                         timeout=timeout, smoke=smoke_url, force=force)
    _released(where, label, dry_run, output)


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
    """Bring STAGE, asleep by its schedule, up now.

    Both tiers at their min until the schedule's next sleep (or DURATION).
    """
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
    """Show what every stage (or STAGE) runs, its health and cost.

    Labels, health, instances by version, and the monthly estimate. Exit 1 when a stage's tiers run different
    labels or a stage cannot be read; a stage never provisioned is said so and is no failure.
    """
    from eb_tools.cost.report import brief
    from eb_tools.release.status import failed, render, stage_status
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
    sys.exit(1 if any(failed(r) for r in reports) else 0)


@main.command()
@click.argument("stage")
@STAGE_FILE
@click.option("--output", type=click.Choice(["text", "json"]), default="text", show_default=True)
def cost(stage: str, stage_file: Path, output: str) -> None:
    """Estimate STAGE's monthly cost, offline.

    At its environments' min and max, from its templates, its stage-file entry, the shipped price table and
    the stated assumptions. No AWS call.
    """
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
    """Print ROLE's least-privilege IAM policy for STAGE (offline).

    Every stage of the file when none is named; no AWS call."""
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
    """Show STAGE's app log lines, both tiers by time.

    From CloudWatch Logs, both tiers interleaved by time, each prefixed by tier and instance.
    """
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
@click.argument("stage", required=False)
@click.option("--stage", "stage_option", hidden=True, help="The STAGE argument's former spelling.")
@STAGE_FILE
@click.option("--prune", is_flag=True, help="Delete old versions, keeping --keep and every label in use.")
@click.option("--keep", type=click.IntRange(1), default=20, show_default=True, help="Newest versions kept.")
@DRY_RUN
@click.option("--yes", is_flag=True, help="Do not ask before deleting.")
@OUTPUT
def versions(stage: str | None, stage_option: str | None, stage_file: Path, prune: bool, keep: int, dry_run: bool,
             yes: bool, output: str) -> None:
    """List the application's versions; --prune deletes old ones.

    Every application of the stage file (or STAGE's): its versions and what needs each. --prune shows which
    it would delete and asks (--yes does not). Exit 1 when an application cannot be read.
    """
    from eb_tools.release import version_report

    if stage and stage_option and stage != stage_option:
        raise click.UsageError(f"versions: stage {stage} or {stage_option}, not both")
    stage = stage or stage_option
    if stage:
        _stages(stage_file, [stage])  # an unknown stage is one line naming the defined ones
    report = version_report.report(_stages(stage_file, []), stage, keep if prune else None,
                                   click.echo if output == "text" else _silent, dry_run=dry_run, yes=yes,
                                   ask=lambda question: click.confirm(question, err=True))
    if output == "json":
        click.echo(json.dumps(report, indent=2))
    sys.exit(1 if any("error" in entry for entry in report["applications"]) else 0)


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
    """Destroy STAGE: its environments, stack and unused network.

    Terminate its environments, delete its stack (keeping its buckets and a final database snapshot, by the
    template's DeletionPolicy) and its network when no other stage uses it.
    """
    from eb_tools.provision import destroy as destroying
    from eb_tools.stage import runner

    [where] = _stages(stage_file, [stage])
    op = destroying.operation(where, click.echo, confirm_name=confirm_name, yes=yes, delete_data=delete_data,
                              ask=click.confirm)
    runner.carry_out(op, click.echo, dry_run=dry_run)


@main.group()
def db() -> None:
    """Snapshot and restore a stage's database, or drill a restore."""


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
    """Take a manual snapshot of STAGE's database.

    Named from its label and the time, recording what a drill verifies.
    """
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
    """Restore STAGE's database as a drill, or --into a stage.

    As a drill (exit 1 when verification fails or the stage's goal is missed), or --into a stage, replacing
    its database behind its endpoint (planned, then confirmed).
    """
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
                                ask=lambda question: click.confirm(question, err=output == "json"), timeout=timeout,
                                restart=execute.refresh, via=via)
    steps = runner.carry_out(op, echo, dry_run=dry_run)
    if output == "json":
        click.echo(json.dumps({"stage": target.name, "dry_run": dry_run, "steps": [
            {"step": name, "seconds": round(seconds, 1)} for name, seconds in steps]}, indent=2))


@main.group()
def secrets() -> None:
    """Rotate the secrets a stage generated, with no failed request."""


@secrets.command()
@click.argument("stage")
@click.argument("secret", nargs=-1, required=True, type=click.Choice(["flask-key", "redis-token", "database"]))
@STAGE_FILE
@DRY_RUN
@TIMEOUT
def rotate(stage: str, secret: tuple[str, ...], stage_file: Path, dry_run: bool, timeout: float) -> None:
    """Rotate STAGE's SECRET(s), with no request or task failing.

    Each new one is valid everywhere before the old one stops, and both tiers are redeployed on the versions
    they run so that every process reads them (EB hands secrets over at deployment); several secrets share
    the redeployments.
    """
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
    """Run COMMAND once on an instance of STAGE's tier.

    In the app's directory and environment (Systems Manager's Run Command), and exit with its exit status.
    One argument is a shell line (pipes, $NAMES); several are a program and its arguments. Put -- before the
    command.
    """
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
    """Open a shell on an instance of STAGE's tier.

    In the app's directory and environment (Session Manager; needs AWS's session-manager-plugin).
    """
    from eb_tools.remote.shell import open_shell

    [where] = _stages(stage_file, [stage])
    sys.exit(open_shell(where, tier, instance_id, sys.stdin.buffer, sys.stdout.buffer,
                        lambda line: click.echo(line, err=True)))
