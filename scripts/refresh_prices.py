"""Rewrite eb_tools/cost/prices.json from the AWS Price List Query API.

    python scripts/refresh_prices.py [--region eu-west-1 ...] [--file eb_tools.yaml]

Needs AWS credentials allowed pricing:GetProducts (any account; the API is free). The API answers in
us-east-1 (also eu-central-1 and ap-south-1); prices are asked for the regions named (default: those the
table and the stage file have), for the instance types, classes and node types either names. A price the
API does not give back keeps the table's earlier one and is reported. Review the diff, then commit it.
"""
from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from eb_tools.cost import price_list
from eb_tools.cost.prices import TABLE
from eb_tools.errors import aws_message
from eb_tools.stage_file import load

API_REGION = "us-east-1"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--region", action="append", help="a region to price (repeatable)")
    parser.add_argument("--file", type=Path, default=Path("eb_tools.yaml"), help="the stage file")
    parser.add_argument("--table", type=Path, default=TABLE, help="the price table to rewrite")
    args = parser.parse_args()
    old = json.loads(args.table.read_text(encoding="utf-8"))
    file = load(args.file) if args.file.exists() else None
    stage_regions = {file.stage(name).region for name in file.stages} if file else set()
    regions = args.region or sorted(set(old["regions"]) | stage_regions)
    problems: list[str] = []
    fetch = price_list.products(boto3.client("pricing", region_name=API_REGION))
    try:
        table = price_list.refresh(fetch, regions, old, price_list.names(old, file),
                                   datetime.now(UTC).date().isoformat(), problems.append)
    except (BotoCoreError, ClientError) as error:  # no credentials, no pricing:GetProducts: the table is kept
        print(f"refresh_prices: {aws_message(error, 'pricing')}; {args.table} unchanged", file=sys.stderr)
        return 1
    args.table.write_text(json.dumps(table, indent=2) + "\n", encoding="utf-8")
    for line in problems:
        print(line, file=sys.stderr)
    print(f"{args.table}: {len(regions)} region(s) refreshed, {len(problems)} price(s) not found")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
