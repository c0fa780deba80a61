"""`eb_tools local` refuses what it cannot run in one line, before starting anything, losing nothing."""
from __future__ import annotations

import socket
from pathlib import Path

import pytest
from click.testing import CliRunner

from eb_tools import cli
from eb_tools.cloud.data_stores import processes
from eb_tools.cloud.server import free_port
from eb_tools.errors import CloudError

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("option", ["--port", "--cloud-port"])
def test_a_taken_port_is_one_line_before_anything_starts(tmp_path: Path, option: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        free = str(free_port(exclude=frozenset({port})))
        ports = {"--port": free, "--cloud-port": free, option: str(port)}
        result = CliRunner().invoke(cli.main, ["local", "--root", str(ROOT), "--data-dir", str(tmp_path / "state"),
                                               *(arg for pair in ports.items() for arg in pair)])
    assert result.exit_code == 1
    assert result.output == (f"Error: port {port} is taken (something listens on 127.0.0.1:{port}); stop it, "
                             f"or choose another with {option}\n")
    assert not (tmp_path / "state").exists()  # nothing started, nothing written


def test_a_missing_server_names_the_debian_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(processes.shutil, "which", lambda name: None)
    monkeypatch.setattr(processes.Path, "exists", lambda self: False)
    for binary, package in (("mariadbd", "mariadb-server"), ("redis-server", "redis-server")):
        with pytest.raises(CloudError) as raised:
            processes.binary(binary)
        assert str(raised.value) == (f"{binary} is not installed; install Debian's {package} package (apt-get "
                                     f"install {package}; make up and make test do it as root)")
