"""The eb_tools command line: parse, call, print. The work lives in the subpackages."""
from __future__ import annotations

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
def local(root: Path, data_dir: Path, port: int, cloud_port: int) -> None:
    """Run the whole system on this machine, with no AWS account."""
    from eb_tools.local.run import run

    run(root.resolve(), data_dir if data_dir.is_absolute() else root / data_dir, port, cloud_port)
