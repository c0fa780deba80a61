"""Where the data verbs read a database's figures: from this machine, or through a worker instance.

In AWS the stage's database and a drill's copy have private endpoints, which only the stage's VPC reaches.
A worker instance is inside it, logs in with the database secret already (the app's), and runs a command
through Systems Manager's Run Command (eb_tools run): the figures are read there, by probe.py sent as the
command's text, and come back as JSON. `auto` takes a worker instance when the stage has one that Systems
Manager manages, and connects from this machine otherwise (the local cloud without instances, a machine in
the VPC); `worker` and `direct` choose.
"""
from __future__ import annotations

import base64
import json
import shlex
from dataclasses import dataclass
from pathlib import Path

from eb_tools.data import database as stage_database
from eb_tools.data import figures, probe
from eb_tools.data.database import Endpoint, StageDatabase
from eb_tools.errors import DataError, RemoteError
from eb_tools.remote import nodes, run
from eb_tools.stage.runner import Echo
from eb_tools.stage.target import StageTarget

VIA = ("auto", "worker", "direct")
PROBE_SECONDS = 300
# Runs probe.py's text with the endpoint as its arguments, in the app's Python (python -c, nothing to install).
LAUNCH = "import base64, sys; exec(compile(base64.b64decode(sys.argv[1]), 'probe.py', 'exec'))"


@dataclass(frozen=True)
class Reader:
    """Reads figures of databases of `where` (with `database`'s secret and name) through `node`, or directly
    when it is None."""

    where: StageTarget
    database: StageDatabase
    node: nodes.Node | None

    def describe(self) -> str:
        return f"through worker instance {self.node} (Run Command)" if self.node else "from this machine"

    def counts(self, endpoint: Endpoint) -> figures.Counts:
        if self.node is None:
            with stage_database.connect(self.where, self.database, endpoint) as connection:
                return figures.read(connection)
        return self._remote(endpoint)

    def _remote(self, endpoint: Endpoint) -> figures.Counts:
        assert self.node is not None
        source = base64.b64encode(Path(probe.__file__).read_bytes()).decode()
        line = shlex.join(["python", "-c", LAUNCH, source, endpoint.host, str(endpoint.port), self.database.name])
        quiet: Echo = lambda _text: None  # noqa: E731 (the output is parsed, not shown)
        outcome = run.run(self.where, "worker", self.node.instance_id, [line], PROBE_SECONDS, quiet, quiet, quiet)
        if outcome.exit_code != 0:
            last = (outcome.stderr.strip().splitlines() or ["no output"])[-1]
            raise DataError(f"reading {endpoint.host}:{endpoint.port} on {self.node} failed ({last}); "
                            f"SSM command {outcome.command_id}")
        answer = json.loads(outcome.stdout.strip().splitlines()[-1])
        return figures.Counts(answer["revision"], {str(t): int(n) for t, n in answer["rows"].items()})


def reader(where: StageTarget, database: StageDatabase, via: str) -> Reader:
    """The reader `via` chooses (see the module docstring); a DataError when `worker` has no instance."""
    if via == "direct":
        return Reader(where, database, None)
    try:
        return Reader(where, database, nodes.choose(where, "worker", None))
    except RemoteError as error:
        if via == "worker":
            raise DataError(f"--via worker: {error}") from None
        return Reader(where, database, None)
