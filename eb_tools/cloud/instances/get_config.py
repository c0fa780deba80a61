"""/opt/elasticbeanstalk/bin/get-config of an emulated instance: a standalone script (the standard library only),
installed with the instance's Python on its first line.

The interface is the platform's script tool's, as hooks call it: `get-config environment` prints the
environment properties as a JSON object, `get-config environment -k NAME` one of them as plain text (status 1
when there is none, so `$(get-config environment -k X || echo default)` works), `--output YAML` a YAML map;
`get-config platformconfig [-k NAME]` the platform's paths. Source: EB developer guide, "Platform script
tools" (get-config), and hooks in public repositories (`get-config environment -k PORT`, `get-config
platformconfig -k AppDeployDir`).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ENVIRONMENT = Path("/opt/elasticbeanstalk/deployment/env.json")  # written by the instance runtime
PLATFORM_CONFIG = {"AppDeployDir": "/var/app/current/", "AppStagingDir": "/var/app/staging/", "AppUser": "webapp",
                   "ProxyServer": "nginx"}


def main(argv: list[str]) -> int:
    """Print what the hook asked for; status 1 with one line on stderr when there is no such thing."""
    parser = argparse.ArgumentParser(prog="get-config")
    parser.add_argument("--output", choices=("JSON", "YAML", "json", "yaml"), default="JSON")
    parser.add_argument("query", choices=("environment", "platformconfig"))
    parser.add_argument("-k", "--key")
    args = parser.parse_args(argv)
    values = json.loads(ENVIRONMENT.read_text()) if args.query == "environment" else PLATFORM_CONFIG
    if args.key is not None:
        if args.key not in values:
            print(f"get-config: {args.query} has no key {args.key}", file=sys.stderr)
            return 1
        sys.stdout.write(values[args.key])
        return 0
    if args.output.upper() == "YAML":
        sys.stdout.write("".join(f"{name}: {json.dumps(value)}\n" for name, value in values.items()))
    else:
        sys.stdout.write(json.dumps(values))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
