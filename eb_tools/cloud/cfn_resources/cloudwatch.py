"""AWS::CloudWatch::Alarm, which moto's CloudFormation skips: the alarm never exists.

The handler puts the alarm into moto's CloudWatch backend as PutMetricAlarm
would, single-metric (MetricName, Namespace, Statistic, Dimensions...) or metric
math (Metrics), so DescribeAlarms shows its metric, dimensions, threshold and
actions. Ref is the alarm name and GetAtt Arn its ARN, as in AWS. An update puts it again, in place.
"""
from __future__ import annotations

from typing import Any

from eb_tools.cloud.cfn_resources.base import Handler, Place, Resource, checked, flag, items, refuse, tag_dict
from eb_tools.cloud.moto_internals import Dimension, Metric, MetricDataQuery, MetricStat, cloudwatch_backends

ALARM = "AWS::CloudWatch::Alarm"


def _dimensions(value: Any, path: str) -> list[dict[str, str]]:
    return [checked(d, (), ALARM, f"{path}[]", required={"Name", "Value"}) for d in items(value, ALARM, path)]


def _query(entry: Any) -> MetricDataQuery:
    """One entry of Metrics (a metric or an expression) as moto's PutMetricAlarm keeps it."""
    checked(entry, {"Expression", "Label", "MetricStat", "Period", "ReturnData"}, ALARM, "Metrics[]", required={"Id"})
    stat = None
    if "MetricStat" in entry:
        stat_json = checked(entry["MetricStat"], {"Unit"}, ALARM, "Metrics[].MetricStat",
                            required={"Metric", "Period", "Stat"})
        metric = checked(stat_json["Metric"], {"Dimensions"}, ALARM, "Metrics[].MetricStat.Metric",
                         required={"MetricName", "Namespace"})
        dimensions = [Dimension(d["Name"], d["Value"])
                      for d in _dimensions(metric.get("Dimensions", []), "MetricStat.Metric.Dimensions")]
        stat = MetricStat(metric=Metric(metric["MetricName"], metric["Namespace"], dimensions),
                          # moto's own PutMetricAlarm passes None for a missing Unit, despite the annotation
                          period=stat_json["Period"], stat=stat_json["Stat"],
                          unit=stat_json.get("Unit"))  # type: ignore[arg-type]
    return MetricDataQuery(query_id=entry["Id"], label=entry.get("Label"), period=entry.get("Period"),
                           return_data=entry.get("ReturnData"), expression=entry.get("Expression"), metric_stat=stat)


class Alarm(Handler):
    type_name = ALARM
    name_property = "AlarmName"
    properties = frozenset({
        "AlarmName", "AlarmDescription", "ActionsEnabled", "AlarmActions", "OKActions", "InsufficientDataActions",
        "ComparisonOperator", "EvaluationPeriods", "DatapointsToAlarm", "Threshold", "TreatMissingData",
        "MetricName", "Namespace", "Statistic", "ExtendedStatistic", "Period", "Unit", "Dimensions", "Metrics",
        "EvaluateLowSampleCountPercentile", "Tags"})
    attributes = frozenset({"Arn"})

    @classmethod
    def create(cls, name: str, properties: dict[str, Any], place: Place) -> Resource:
        alarm = cls._put(name, properties, place)
        return Resource(cls, name, place, {"Arn": alarm.alarm_arn})

    @classmethod
    def update(cls, resource: Resource, name: str, properties: dict[str, Any]) -> Resource:
        """In place when the name stays, as CloudFormation updates an alarm: PutMetricAlarm under the same name
        replaces the whole definition (CloudWatch API reference, PutMetricAlarm). A new AlarmName replaces the
        alarm, which the local cloud does not do: refused."""
        if properties.get("AlarmName", resource.physical_resource_id) != resource.physical_resource_id:
            refuse(ALARM, "changing AlarmName replaces the alarm, which the local cloud does not do")
        alarm = cls._put(resource.physical_resource_id, properties, resource.place)
        return Resource(cls, resource.physical_resource_id, resource.place, {"Arn": alarm.alarm_arn})

    @classmethod
    def _put(cls, name: str, properties: dict[str, Any], place: Place) -> Any:
        metrics = [_query(entry) for entry in items(properties.get("Metrics", []), ALARM, "Metrics")]
        tags = tag_dict(properties.get("Tags", []), ALARM)
        return place.backend(cloudwatch_backends).put_metric_alarm(
            name=name, namespace=properties.get("Namespace"), metric_name=properties.get("MetricName"),
            comparison_operator=cls.required(properties, "ComparisonOperator"),
            evaluation_periods=int(cls.required(properties, "EvaluationPeriods")),
            period=int(properties["Period"]) if "Period" in properties else None,
            threshold=float(properties["Threshold"]) if "Threshold" in properties else None,
            statistic=properties.get("Statistic"), description=properties.get("AlarmDescription"),
            dimensions=_dimensions(properties.get("Dimensions", []), "Dimensions"),
            alarm_actions=list(properties.get("AlarmActions", [])), metric_data_queries=metrics or None,
            datapoints_to_alarm=int(properties["DatapointsToAlarm"]) if "DatapointsToAlarm" in properties else None,
            extended_statistic=properties.get("ExtendedStatistic"), ok_actions=list(properties.get("OKActions", [])),
            insufficient_data_actions=list(properties.get("InsufficientDataActions", [])),
            unit=properties.get("Unit"), actions_enabled=flag(properties.get("ActionsEnabled", True)),
            treat_missing_data=properties.get("TreatMissingData"),
            evaluate_low_sample_count_percentile=properties.get("EvaluateLowSampleCountPercentile"),
            tags=[{"Key": k, "Value": v} for k, v in tags.items()] or None)

    @classmethod
    def delete(cls, resource: Resource) -> None:
        resource.place.backend(cloudwatch_backends).alarms.pop(resource.physical_resource_id, None)


HANDLERS: tuple[type[Handler], ...] = (Alarm,)
