"""The eb_tools command line: parse, call, print. The work lives in the subpackages."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click


@click.group()
@click.version_option(package_name="eb-tools")
def main() -> None:
    """Check, bundle, provision, deploy and run locally an Elastic Beanstalk web + worker app."""


@main.command()
@click.option("--root", type=click.Path(file_okay=False, exists=True, path_type=Path), default=".",
              show_default=True, help="The application repository.")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=".local",
              show_default=True, help="Where the local stage keeps its state.")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True, help="Web app port.")
@click.option("--cloud-port", type=click.IntRange(1, 65535), default=4566, show_default=True,
              help="Port of the emulated AWS endpoint.")
@click.option("--eb-seconds", type=click.FloatRange(0, 600), default=1.0, show_default=True,
              help="How long an emulated EB launch, update or termination takes.")
@click.option("--cloud-only", is_flag=True,
              help="Start just the emulated AWS endpoint, to try `eb_tools provision` or the eb CLI against it.")
def local(root: Path, data_dir: Path, port: int, cloud_port: int, eb_seconds: float, cloud_only: bool) -> None:
    """Run the whole system on this machine, with no AWS account."""
    from eb_tools.local.run import run, run_cloud

    if cloud_only:
        run_cloud(cloud_port, eb_seconds)
        return
    run(root.resolve(), data_dir if data_dir.is_absolute() else root / data_dir, port, cloud_port, eb_seconds)


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

    try:
        command.provision(stage_file, stage, template=template, dry_run=dry_run, yes=yes,
                          allow_replace=allow_replace, echo=click.echo, confirm=click.confirm, version=version_label)
    except command.Failure as error:
        raise click.ClickException(str(error)) from None


@main.command()
@click.argument("path", type=click.Path(file_okay=False, exists=True, path_type=Path), default=".")
@click.option("--output", type=click.Choice(["text", "json"]), default="text", show_default=True)
def check(path: Path, output: str) -> None:
    """Validate the source bundle at PATH offline. Exit 0 when clean, 1 with findings."""
    from eb_tools.check import run

    findings = run(path.resolve())
    failing = [f for f in findings if f.severity != "notice"]
    if output == "json":
        click.echo(json.dumps([f.as_dict() for f in findings], indent=2))
    else:
        for finding in findings:
            click.echo(finding.as_text())
        click.echo(f"{len(failing)} problem(s) in {path}" if failing else f"{path}: bundle OK", err=True)
    sys.exit(1 if failing else 0)


@main.command()
@click.argument("path", type=click.Path(file_okay=False, exists=True, path_type=Path), default=".")
@click.option("--working-tree", is_flag=True, help="Bundle the files on disk instead of git HEAD.")
@click.option("--output-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Where to write the zip [default: PATH/.elasticbeanstalk/app_versions].")
def bundle(path: Path, working_tree: bool, output_dir: Path | None) -> None:
    """Build the source bundle zip as `eb deploy` would, reproducibly."""
    from eb_tools.bundle import BundleError, build

    root = path.resolve()
    try:
        built = build(root, output_dir or root / ".elasticbeanstalk" / "app_versions", working_tree)
    except BundleError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"bundle:  {built.path}")
    click.echo(f"size:    {built.size} bytes, {built.files} files")
    click.echo(f"version: {built.label}")
