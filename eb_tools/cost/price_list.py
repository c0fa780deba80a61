"""The AWS Price List Query API's answers, read into the price table's shape (prices.json).

GetProducts answers `PriceList`: JSON strings, one per product, each with `product.attributes` (regionCode,
instanceType, usagetype, ...) and `terms.OnDemand.<offer>.priceDimensions.<rate>` holding `beginRange`,
`unit` and `pricePerUnit.USD` (Billing user guide, "Finding prices using the Price List Query API"). One query
per price the estimate uses; a query that finds no price, or several different ones, keeps the table's
earlier price and is reported, so a filter AWS no longer matches is seen rather than written as 0.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from eb_tools.stage_file import StageFile

Path = tuple[str, ...]  # where a price sits in a region's table: ("ec2_hour", "t3.small")
# CloudFront prices by edge location, not by region: the area a region's visitors are assumed to be in.
CDN_AREAS = {"eu": "Europe", "us": "United States", "ca": "Canada"}


@dataclass(frozen=True)
class Query:
    path: Path
    service: str
    filters: tuple[tuple[str, str], ...]
    usagetype: str = ""  # the end of the product's usagetype, where the filters leave several products
    regional: bool = True  # filter on regionCode (CloudFront's products have none)


@dataclass(frozen=True)
class Names:
    """The priced types the table holds, besides the per-region flat prices."""

    ec2: frozenset[str]
    rds: frozenset[tuple[str, str]]  # (engine, instance class)
    rds_storage: frozenset[str]
    cache: frozenset[str]


ENGINES = {"mariadb": "MariaDB", "mysql": "MySQL"}


def queries(region: str, names: Names) -> list[Query]:
    """Every price a region's table holds, as a Price List query."""
    ec2 = (("operatingSystem", "Linux"), ("tenancy", "Shared"), ("preInstalledSw", "NA"),
           ("capacitystatus", "Used"), ("licenseModel", "No License required"))
    found = [Query(("ec2_hour", t), "AmazonEC2", (("instanceType", t), *ec2)) for t in sorted(names.ec2)]
    found += [Query(("rds_hour", e, c), "AmazonRDS", (("instanceType", c), ("databaseEngine", ENGINES.get(e, e)),
                                                       ("deploymentOption", "Single-AZ")))
              for e, c in sorted(names.rds)]
    found += [Query(("rds_storage_gb_month", v), "AmazonRDS", (
        ("productFamily", "Database Storage"), ("volumeType", f"General Purpose-{v.upper()}"),
        ("databaseEngine", "MariaDB"), ("deploymentOption", "Single-AZ"))) for v in sorted(names.rds_storage)]
    found += [Query(("elasticache_hour", n), "AmazonElastiCache", (("instanceType", n), ("cacheEngine", "Redis")))
              for n in sorted(names.cache)]
    return found + _flat(region)


def _flat(region: str) -> list[Query]:
    alb = (("productFamily", "Load Balancer-Application"),)
    cdn = CDN_AREAS.get(region.split("-", 1)[0], "United States")
    return [
        Query(("alb_hour",), "AWSELB", alb, "LoadBalancerUsage"),
        Query(("alb_lcu_hour",), "AWSELB", alb, "LCUUsage"),
        Query(("nat_hour",), "AmazonEC2", (("productFamily", "NAT Gateway"),), "NatGateway-Hours"),
        Query(("nat_gb",), "AmazonEC2", (("productFamily", "NAT Gateway"),), "NatGateway-Bytes"),
        # An interface endpoint's hours in one zone (PrivateLink's price page); not a Gateway Load Balancer one.
        Query(("vpc_endpoint_az_hour",), "AmazonVPC", (("productFamily", "VpcEndpoint"),), "VpcEndpoint-Hours"),
        Query(("public_ipv4_hour",), "AmazonVPC", (), "PublicIPv4:InUseAddress"),
        Query(("cloudfront_gb",), "AmazonCloudFront", (("fromLocation", cdn),), "DataTransfer-Out-Bytes",
              regional=False),
        Query(("cloudfront_request",), "AmazonCloudFront", (("location", cdn),), "Requests-Tier2-HTTPS",
              regional=False),
        Query(("s3_gb_month",), "AmazonS3", (("storageClass", "General Purpose"), ("volumeType", "Standard")),
              "TimedStorage-ByteHrs"),
        Query(("s3_put_request",), "AmazonS3", (("group", "S3-API-Tier1"),), "Requests-Tier1"),
        Query(("s3_get_request",), "AmazonS3", (("group", "S3-API-Tier2"),), "Requests-Tier2"),
        Query(("sqs_request",), "AWSQueueService", (("queueType", "Standard"),), "Requests"),
        Query(("alarm_metric_month",), "AmazonCloudWatch", (("productFamily", "Alarm"),), "AlarmMonitorUsage"),
        Query(("secret_month",), "AWSSecretsManager", (), "AWSSecretsManager-Secrets"),
        Query(("secret_api_call",), "AWSSecretsManager", (), "AWSSecretsManager-APIRequest"),
    ]


def filters(query: Query, region: str) -> list[dict[str, str]]:
    """GetProducts' Filters for the query (TERM_MATCH on product attributes)."""
    terms = (*query.filters, *((("regionCode", region),) if query.regional else ()))
    return [{"Type": "TERM_MATCH", "Field": field, "Value": value} for field, value in terms]


def on_demand(entry: str) -> tuple[dict[str, str], float | None]:
    """(product attributes, the USD price per unit of the first paid tier) of one PriceList entry; None when
    every tier is free."""
    document = json.loads(entry)
    dimensions = [dimension for offer in document.get("terms", {}).get("OnDemand", {}).values()
                  for dimension in offer["priceDimensions"].values()]
    tiers = sorted((float(d.get("beginRange", 0)), float(d["pricePerUnit"]["USD"])) for d in dimensions
                   if "USD" in d.get("pricePerUnit", {}))
    paid = [price for _, price in tiers if price > 0]
    return document["product"].get("attributes", {}), paid[0] if paid else None


def price(query: Query, entries: Iterable[str]) -> float:
    """The one price the query's products have; ValueError naming the query when none or several."""
    found = set()
    for entry in entries:
        attributes, value = on_demand(entry)
        if value is not None and attributes.get("usagetype", "").endswith(query.usagetype):
            found.add(value)
    if len(found) != 1:
        what = "no price" if not found else f"{len(found)} different prices ({', '.join(map(str, sorted(found)))})"
        raise ValueError(f"{' '.join(query.path)}: {what} for {query.service} {dict(query.filters)}")
    return found.pop()


Fetch = Callable[[str, list[dict[str, str]]], Iterator[str]]


def products(client: Any) -> Fetch:
    """GetProducts through a boto3 `pricing` client, every page."""
    def fetch(service: str, terms: list[dict[str, str]]) -> Iterator[str]:
        for page in client.get_paginator("get_products").paginate(ServiceCode=service, Filters=terms,
                                                                  FormatVersion="aws_v1"):
            yield from page["PriceList"]
    return fetch


def region_table(fetch: Fetch, region: str, names: Names, old: dict[str, Any],
                 report: Callable[[str], None]) -> dict[str, Any]:
    """A region's table from the API; where a query fails, the old price, reported."""
    table: dict[str, Any] = {}
    for query in queries(region, names):
        value: float | None
        try:
            value = price(query, fetch(query.service, filters(query, region)))
        except ValueError as error:
            value = _at(old, query.path)
            report(f"{region}: {error}; " + ("kept the table's earlier price" if value is not None else
                                             "no earlier price: left out"))
        if value is not None:
            _put(table, query.path, value)
    return table


def names(table: dict[str, Any], file: StageFile | None) -> Names:
    """What the table prices already, and every type the stage file's stages use."""
    regions = table.get("regions", {}).values()
    ec2 = {t for r in regions for t in r.get("ec2_hour", {})}
    rds = {(e, c) for r in regions for e, classes in r.get("rds_hour", {}).items() for c in classes}
    # gp3: the StorageType provision's database template sets (provision/data_stores.py), priced in a new table
    storage = {v for r in regions for v in r.get("rds_storage_gb_month", {})} | {"gp3"}
    cache = {n for r in regions for n in r.get("elasticache_hour", {})}
    for stage in (file.stage(name) for name in file.stages) if file else ():
        ec2 |= {stage.web.instance_type, stage.worker.instance_type}
        if stage.database:
            rds.add((stage.database.engine, stage.database.instance_class))
        if stage.redis:
            cache.add(stage.redis.node_type)
    return Names(frozenset(ec2), frozenset(rds), frozenset(storage), frozenset(cache))


def refresh(fetch: Fetch, regions: Iterable[str], old: dict[str, Any], wanted: Names, today: str,
            report: Callable[[str], None]) -> dict[str, Any]:
    """The whole table: `regions` fetched anew, the old table's other regions kept as they were."""
    fresh = {region: region_table(fetch, region, wanted, old.get("regions", {}).get(region, {}), report)
             for region in regions}
    return {"date": today, "currency": "USD",
            "source": f"AWS Price List Query API (GetProducts, on-demand, first paid tier) for "
                      f"{', '.join(sorted(fresh))} on {today}, by scripts/refresh_prices.py",
            "pages": old.get("pages", []), "regions": dict(sorted((old.get("regions", {}) | fresh).items()))}


def _at(table: dict[str, Any], path: Path) -> float | None:
    value: Any = table
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value if isinstance(value, int | float) else None


def _put(table: dict[str, Any], path: Path, value: float) -> None:
    for key in path[:-1]:
        table = table.setdefault(key, {})
    table[path[-1]] = value
