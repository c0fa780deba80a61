"""`eb_tools cost`: the estimate follows the shipped stage file and the generated templates, a price the table
lacks is one line, `status` carries each stage's estimate, and the refresh script reads GetProducts' answers
into the table's shape. Offline and fast: no AWS, no servers."""
from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.config import Config
from click.testing import CliRunner

from eb_tools import aws, cli
from eb_tools import stage_file as stages
from eb_tools.cost import estimate as estimating
from eb_tools.cost import price_list, prices
from eb_tools.cost.estimate import estimate
from eb_tools.errors import PriceMissing
from eb_tools.provision.templates import stage_template

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = stages.load(ROOT / "eb_tools.yaml")
FIXTURE = json.loads((Path(__file__).with_name("price_list_fixture.json")).read_text())
STAGE = """
application: costapp
region: {region}
platform: Python 3.11 running on 64bit Amazon Linux 2023
stages:
  dev:
    isolation: dev
    web: {{instance_type: {instance_type}, min: 1, max: 3, blue_green: {blue_green}}}
    worker: {{instance_type: t3.small, min: 1, max: 1}}
    plain_http: true
    mail: {{from: no-reply@dev.example.com}}
    alarm_email: ops@example.com
"""


def _file(tmp_path: Path, region: str = "eu-west-1", instance_type: str = "t3.small",
          blue_green: str = "false") -> Path:
    path = tmp_path / "eb_tools.yaml"
    path.write_text(STAGE.format(region=region, instance_type=instance_type, blue_green=blue_green))
    return path


def _items(name: str) -> dict[str, estimating.Item]:
    return {item.resource: item for item in estimate(SHIPPED, name).items}


@pytest.mark.parametrize("name", sorted(SHIPPED.stages))
def test_every_shipped_stage_has_a_positive_estimate_that_grows_with_scaling(name):
    result = estimate(SHIPPED, name)
    low, high = result.total
    assert 0 < low < high
    assert sum(item.monthly[0] for item in result.items) == pytest.approx(low)
    names = {item.resource for item in result.items}
    stage = SHIPPED.stage(name)
    assert {f"EC2 {stage.web.instance_type} (web)", f"EC2 {stage.worker.instance_type} (worker)",
            "Application Load Balancer", "CloudFront data out", "S3 Standard storage", "SQS requests",
            "CloudWatch alarm metrics", "Secrets Manager secrets", f"ElastiCache {stage.redis.node_type}"} <= names


def test_production_pays_for_nat_multi_az_and_replicas_and_staging_for_no_nat():
    production, staging = _items("production"), _items("staging")
    assert production["NAT gateway"].count == (2, 2)  # one per availability zone the network template spans
    assert production["Public IPv4 (NAT)"].count == (2, 2)
    writer = production["RDS db.t4g.medium mariadb (Database, Multi-AZ)"]
    assert writer.count == (2, 2) and writer.price == prices.load("eu-west-1").get("rds_hour", "mariadb",
                                                                                   "db.t4g.medium")
    assert production["RDS gp3 storage (Database, Multi-AZ)"].usage == 50
    assert "RDS db.t4g.medium mariadb (DatabaseReplica1)" in production
    assert production["ElastiCache cache.t4g.small"].count == (3, 3)  # the primary and 2 replicas
    assert "Public IPv4 (instances)" not in production  # private subnets behind NAT
    assert not any(name.startswith("NAT") for name in staging)
    assert staging["Public IPv4 (instances)"].count == (3, 8)  # web 2-6 and worker 1-2, in public subnets
    assert staging["RDS db.t4g.micro mariadb (Database)"].count == (1, 1)
    # Without NAT the rotation function reaches Secrets Manager through an interface endpoint in both zones.
    endpoint = staging["VPC interface endpoint (Secrets Manager)"]
    assert (endpoint.count, endpoint.unit, endpoint.price) == ((2, 2), "AZ-hour", 0.011)
    assert endpoint.monthly[0] == pytest.approx(2 * 730 * 0.011)
    assert "VPC interface endpoint (Secrets Manager)" not in production  # its NAT leads to the API
    assert "negligible" in staging["Secrets Manager secrets"].note


def test_a_stage_without_a_rotation_schedule_pays_for_no_endpoint():
    data = SHIPPED.model_dump(by_alias=True)
    data["stages"]["staging"]["database"]["rotation_days"] = 0
    items = {item.resource: item for item in estimate(stages.StageFile.model_validate(data), "staging").items}
    assert "VPC interface endpoint (Secrets Manager)" not in items
    assert items["Secrets Manager secrets"].note == ""


def test_alarms_and_secrets_are_counted_in_the_template(monkeypatch):
    template = stage_template(SHIPPED, "staging")
    alarms = [r for r in template["Resources"].values() if r["Type"] == "AWS::CloudWatch::Alarm"]
    metric_math = sum(len([q for q in r["Properties"].get("Metrics", []) if "MetricStat" in q]) or 1 for r in alarms)
    before = _items("staging")
    assert before["CloudWatch alarm metrics"].count == (metric_math, metric_math) and metric_math > len(alarms)
    assert before["Secrets Manager secrets"].count == (3, 3)

    def more(file: stages.StageFile, name: str) -> dict[str, Any]:
        grown = copy.deepcopy(template)
        grown["Resources"]["ExtraSecret"] = {"Type": "AWS::SecretsManager::Secret", "Properties": {}}
        grown["Resources"]["ExtraAlarm"] = copy.deepcopy(alarms[-1])
        return grown

    monkeypatch.setattr(estimating, "stage_template", more)
    after = _items("staging")
    assert after["Secrets Manager secrets"].count == (4, 4)
    assert after["CloudWatch alarm metrics"].count == (metric_math + 1, metric_math + 1)
    grown = sum(after[name].monthly[0] - before[name].monthly[0] for name in before)
    assert grown == pytest.approx(0.40 + 0.10)  # a secret-month and an alarm metric-month in eu-west-1


def test_a_blue_green_stage_pays_for_a_second_web_environment(tmp_path):
    file = stages.load(_file(tmp_path, blue_green="true"))
    items = {item.resource: item for item in estimate(file, "dev").items}
    assert items["EC2 t3.small (web)"].count == (2, 6)
    assert items["Application Load Balancer"].count == (2, 2)
    assert items["Public IPv4 (load balancers)"].count == (4, 4)


@pytest.mark.parametrize(("region", "instance_type", "expected"), [
    ("ap-south-1", "t3.small", "has no prices for region ap-south-1 (it has eu-west-1, us-east-1); run "
                               "scripts/refresh_prices.py --region ap-south-1"),
    ("eu-west-1", "m7i.large", "has no price for ec2_hour m7i.large in eu-west-1; run scripts/refresh_prices.py "
                               "--region eu-west-1"),
])
def test_a_missing_price_is_one_line(tmp_path, region, instance_type, expected):
    path = _file(tmp_path, region=region, instance_type=instance_type)
    with pytest.raises(PriceMissing, match="pricing:GetProducts"):
        estimate(stages.load(path), "dev")
    result = CliRunner().invoke(cli.main, ["cost", "dev", "--file", str(path)])
    assert result.exit_code == 1
    assert result.output.count("\n") == 1 and expected in result.output, result.output


def test_cost_prints_a_table_with_totals_assumptions_and_the_source_or_one_json_document():
    runner = CliRunner()
    text = runner.invoke(cli.main, ["cost", "production", "--file", str(ROOT / "eb_tools.yaml")])
    assert text.exit_code == 0, text.output
    low, high = estimate(SHIPPED, "production").total
    assert f"${low:,.2f}" in text.output and f"${high:,.2f}" in text.output
    assert "monthly at min" in text.output and "hours_per_month 730" in text.output
    assert "dated " in text.output and "on-demand" in text.output
    data = json.loads(runner.invoke(cli.main, ["cost", "production", "--file", str(ROOT / "eb_tools.yaml"),
                                               "--output", "json"]).output)
    assert data["monthly"] == {"min": round(low, 2), "max": round(high, 2)}
    assert data["assumptions"]["hours_per_month"] == 730 and data["prices"]["date"]
    assert {"NAT gateway", "SQS requests"} <= {item["resource"] for item in data["items"]}


@pytest.fixture
def no_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """An endpoint that answers nothing, asked once: status reports each stage unreadable at once."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setattr(aws, "CLIENT_CONFIG", Config(retries={"max_attempts": 1, "mode": "standard"}))
    yield


def test_status_carries_each_stages_estimate_and_names_a_missing_price(no_aws, tmp_path):
    runner = CliRunner()
    result = runner.invoke(cli.main, ["status", "--file", str(ROOT / "eb_tools.yaml"), "--output", "json"])
    reports = {r["stage"]: r for r in json.loads(result.output)}
    assert set(reports) == set(SHIPPED.stages)
    for name, report in reports.items():
        low, high = estimate(SHIPPED, name).total
        assert report["cost"]["min"] == round(low, 2) and report["cost"]["max"] == round(high, 2)
        assert report["cost"]["line"] == f"cost: about ${low:,.2f}/month at min, ${high:,.2f} at max " \
                                         f"(eb_tools cost {name})"
    unpriced = _file(tmp_path, region="ap-south-1")
    text = runner.invoke(cli.main, ["status", "dev", "--file", str(unpriced)])
    assert "  cost: no estimate: prices.json" in text.output and "region ap-south-1" in text.output
    assert "Traceback" not in text.output


def _fetch(service: str, terms: list[dict[str, str]]) -> Iterator[str]:
    """GetProducts over the fixture: TERM_MATCH on the product's attributes and family, as the API filters."""
    for entry in FIXTURE["PriceList"]:
        product = json.loads(entry)["product"]
        fields = {**product["attributes"], "productFamily": product["productFamily"]}
        if json.loads(entry)["serviceCode"] == service and all(fields.get(t["Field"]) == t["Value"] for t in terms):
            yield entry


def test_the_refresh_script_reads_get_products_into_the_table(tmp_path):
    old = json.loads(prices.TABLE.read_text())
    old["regions"]["eu-west-1"]["ec2_hour"]["t3.small"] = 9.99  # stale: the API's price replaces it
    del old["regions"]["eu-west-1"]["secret_month"]  # neither in the old table nor in the API's answer
    wanted = price_list.Names(frozenset({"t3.small"}), frozenset(), frozenset(), frozenset())
    problems: list[str] = []
    table = price_list.refresh(_fetch, ["eu-west-1"], old, wanted, "2026-12-07", problems.append)
    fresh = table["regions"]["eu-west-1"]
    assert fresh["ec2_hour"] == {"t3.small": 0.0228}  # Linux's price, not Windows'
    assert (fresh["alb_hour"], fresh["alb_lcu_hour"]) == (0.0252, 0.008)  # told apart by usagetype
    assert fresh["sqs_request"] == 0.0000004  # the first paid tier: the free million is not the price
    assert fresh["nat_hour"] == old["regions"]["eu-west-1"]["nat_hour"]  # not in the answer: kept, reported
    assert "secret_month" not in fresh
    assert any(p.startswith("eu-west-1: nat_hour: no price for AmazonEC2") and "kept" in p for p in problems)
    assert any(p.startswith("eu-west-1: secret_month: no price") and "left out" in p for p in problems)
    assert table["regions"]["us-east-1"] == old["regions"]["us-east-1"]  # regions not asked for stay
    assert table["date"] == "2026-12-07" and "GetProducts" in table["source"]
    path = tmp_path / "prices.json"
    path.write_text(json.dumps(table))
    assert prices.load("eu-west-1", path).get("ec2_hour", "t3.small") == 0.0228


def test_get_products_filters_name_the_region_and_the_product():
    [query] = [q for q in price_list.queries("eu-west-1", price_list.names({}, SHIPPED)) if q.path == ("ec2_hour",
                                                                                                          "t3.small")]
    terms = {f["Field"]: f["Value"] for f in price_list.filters(query, "eu-west-1")}
    assert terms["regionCode"] == "eu-west-1" and terms["instanceType"] == "t3.small"
    assert all(f["Type"] == "TERM_MATCH" for f in price_list.filters(query, "eu-west-1"))
    wanted = price_list.names({}, SHIPPED)
    assert {"t3.micro", "t3.small", "t3.medium"} <= wanted.ec2 and ("mariadb", "db.t4g.medium") in wanted.rds
