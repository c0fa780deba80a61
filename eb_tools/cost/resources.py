"""What a stage's generated templates create, read by walking their Resources by Type, so that the estimate
follows the templates as they change (an alarm or a secret added there is counted here with no edit)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Template = dict[str, Any]


def of_type(template: Template, kind: str) -> dict[str, dict[str, Any]]:
    """{logical id: properties} of every resource of type `kind`."""
    return {name: r.get("Properties", {}) for name, r in template["Resources"].items() if r["Type"] == kind}


def count(template: Template, kind: str) -> int:
    return len(of_type(template, kind))


def alarm_metrics(template: Template) -> int:
    """CloudWatch bills an alarm per metric it evaluates: a metric-math alarm counts each metric it reads."""
    total = 0
    for props in of_type(template, "AWS::CloudWatch::Alarm").values():
        queries = props.get("Metrics")
        total += sum(1 for q in queries if "MetricStat" in q) if queries else 1
    return total


def public_subnets(network: Template) -> int:
    """Subnets whose route table leads to an internet gateway: an internet-facing ALB has a node, and a
    public address, in each."""
    gateways = set(of_type(network, "AWS::EC2::InternetGateway"))
    routed = {_ref(p.get("RouteTableId")) for p in of_type(network, "AWS::EC2::Route").values()
              if _ref(p.get("GatewayId")) in gateways}
    return len({_ref(p.get("SubnetId")) for p in of_type(network, "AWS::EC2::SubnetRouteTableAssociation").values()
                if _ref(p.get("RouteTableId")) in routed})


def interface_endpoint_zones(network: Template) -> int:
    """The zones the network's interface endpoints have a network interface in: one subnet each, billed per
    endpoint per zone-hour (gateway endpoints are free)."""
    return sum(len(p.get("SubnetIds", [])) for p in of_type(network, "AWS::EC2::VPCEndpoint").values()
               if p.get("VpcEndpointType") == "Interface")


@dataclass(frozen=True)
class DbInstance:
    name: str
    engine: str
    instance_class: str
    multi_az: bool
    storage_type: str
    storage_gb: float
    replica: bool


def db_instances(template: Template) -> list[DbInstance]:
    """Each RDS instance; a read replica has its own storage, sized and typed as its source's."""
    found = of_type(template, "AWS::RDS::DBInstance")
    instances = []
    for name, props in found.items():
        source = _ref(props.get("SourceDBInstanceIdentifier"))
        storage = found.get(source, props) if source else props
        instances.append(DbInstance(name, str(props.get("Engine", storage.get("Engine", ""))),
                                    str(props["DBInstanceClass"]), bool(props.get("MultiAZ", False)),
                                    str(storage.get("StorageType", "gp2")), float(storage.get("AllocatedStorage", 0)),
                                    bool(source)))
    return instances


def cache_nodes(template: Template) -> dict[str, int]:
    """{node type: nodes} of the ElastiCache replication groups: the primary and its replicas."""
    nodes: dict[str, int] = {}
    for props in of_type(template, "AWS::ElastiCache::ReplicationGroup").values():
        kind = str(props["CacheNodeType"])
        nodes[kind] = nodes.get(kind, 0) + int(props.get("NumCacheClusters", 1))
    return nodes


def _ref(value: Any) -> str | None:
    return value.get("Ref") if isinstance(value, dict) else None
