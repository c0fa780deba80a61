"""CloudWatch alarms of a stage, mailed through an SNS topic to the stage's alarm address.

The load balancer is created by Elastic Beanstalk with the web environment, after
this stack (whose outputs the environment needs). Its alarms therefore depend on
the LoadBalancerFullName parameter (`app/awseb-.../id`, the metrics' LoadBalancer
dimension): empty on the first run, the alarms are left out; `provision` passes
the environment's load balancer on the next update and they appear. One template,
no second stack, and nothing created outside CloudFormation.
"""
from __future__ import annotations

from typing import Any

from troposphere import Equals, GetAtt, Not, Ref, Sub, Template
from troposphere.cloudwatch import Alarm, MetricDataQuery, MetricDimension, MetricStat
from troposphere.cloudwatch import Metric as MetricSpec
from troposphere.sns import SubscriptionResource, Topic

from eb_tools.provision.common import skip_checkov
from eb_tools.provision.data_stores import DatabaseParts, RedisParts
from eb_tools.provision.queues import Queues
from eb_tools.stage_file import Stage

HAS_LOAD_BALANCER = "HasLoadBalancer"
FIVE_MINUTES = 300
HTTP_5XX_PERCENT = 5  # of requests, over 5 minutes, twice in a row
LATENCY_P95_SECONDS = 2
OLDEST_MESSAGE_SECONDS = 900  # work waiting 15 minutes: the workers are down or far behind
CPU_PERCENT = 80
FREE_STORAGE_FRACTION = 0.1  # storage autoscaling acts at 10% free; an alarm there means it is at its maximum
REPLICA_LAG_SECONDS = 60
REDIS_MEMORY_PERCENT = 80
GIB = 1024**3


def build(template: Template, stage: Stage, load_balancer: Ref, queues: Queues, database: DatabaseParts | None,
          redis: RedisParts | None) -> Topic:
    topic = template.add_resource(skip_checkov(
        Topic("AlarmTopic", DisplayName=Sub("${AWS::StackName} alarms")),
        # CloudWatch cannot publish to a topic encrypted with the AWS managed key (aws/sns), and
        # AWS::KMS::Key is outside the resource types eb_tools provisions: alarm texts carry no secrets.
        CKV_AWS_26="CloudWatch alarms cannot publish to a topic encrypted with aws/sns; alarms carry no secrets",
    ))
    template.add_resource(SubscriptionResource("AlarmEmail", TopicArn=Ref(topic), Protocol="email",
                                       Endpoint=stage.alarm_email))
    template.add_condition(HAS_LOAD_BALANCER, Not(Equals(load_balancer, "")))
    add = _Alarms(template, Ref(topic))
    lb = [MetricDimension(Name="LoadBalancer", Value=load_balancer)]
    add.expression("LoadBalancer5xxRate", f"more than {HTTP_5XX_PERCENT}% of requests answered 5xx",
                   "100 * (FILL(target, 0) + FILL(elb, 0)) / requests", HTTP_5XX_PERCENT, {
                       "target": ("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", lb, "Sum"),
                       "elb": ("AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", lb, "Sum"),
                       "requests": ("AWS/ApplicationELB", "RequestCount", lb, "Sum"),
                   }, Condition=HAS_LOAD_BALANCER)
    add.metric("LoadBalancerLatency", f"95th percentile response time above {LATENCY_P95_SECONDS}s",
               "AWS/ApplicationELB", "TargetResponseTime", lb, LATENCY_P95_SECONDS, ExtendedStatistic="p95",
               Condition=HAS_LOAD_BALANCER)
    add.metric("QueueOldestMessage", f"a task has waited over {OLDEST_MESSAGE_SECONDS}s", "AWS/SQS",
               "ApproximateAgeOfOldestMessage", _queue(queues.work), OLDEST_MESSAGE_SECONDS, Statistic="Maximum")
    add.metric("DeadLetterQueueDepth", "a task failed every retry and sits in the dead-letter queue", "AWS/SQS",
               "ApproximateNumberOfMessagesVisible", _queue(queues.dead_letters), 0, Statistic="Maximum",
               EvaluationPeriods=1)
    if database and stage.database:
        writer = [MetricDimension(Name="DBInstanceIdentifier", Value=Ref(database.writer))]
        add.metric("DatabaseCpu", f"database CPU above {CPU_PERCENT}%", "AWS/RDS", "CPUUtilization", writer,
                   CPU_PERCENT, Statistic="Average", EvaluationPeriods=3)
        free_bytes = int(stage.database.allocated_storage_gb * GIB * FREE_STORAGE_FRACTION)
        add.metric("DatabaseFreeStorage", "database storage nearly full", "AWS/RDS", "FreeStorageSpace", writer,
                   free_bytes, Statistic="Minimum", ComparisonOperator="LessThanThreshold")
        for replica in database.replicas:
            add.metric(f"{replica.title}Lag", f"replica more than {REPLICA_LAG_SECONDS}s behind", "AWS/RDS",
                       "ReplicaLag", [MetricDimension(Name="DBInstanceIdentifier", Value=Ref(replica))],
                       REPLICA_LAG_SECONDS, Statistic="Maximum", EvaluationPeriods=3)
    if redis:
        for node in range(1, redis.nodes + 1):
            # A replication group's nodes are its member clusters <group id>-001, -002, ...
            cluster = Sub(f"${{{redis.group.title}}}-{node:03d}")
            add.metric(f"RedisMemory{node}", f"Redis node {node} memory above {REDIS_MEMORY_PERCENT}%",
                       "AWS/ElastiCache", "DatabaseMemoryUsagePercentage",
                       [MetricDimension(Name="CacheClusterId", Value=cluster)], REDIS_MEMORY_PERCENT,
                       Statistic="Maximum")
    return topic


def _queue(queue: Any) -> list[MetricDimension]:
    return [MetricDimension(Name="QueueName", Value=GetAtt(queue, "QueueName"))]


class _Alarms:
    """Adds alarms that notify the topic on ALARM and on OK, with the stack's name in the description."""

    def __init__(self, template: Template, topic: Ref) -> None:
        self.template = template
        self.topic = topic

    def metric(self, title: str, what: str, namespace: str, name: str, dimensions: list[MetricDimension],
               threshold: float, **options: Any) -> None:
        settings: dict[str, Any] = {"ComparisonOperator": "GreaterThanThreshold", "EvaluationPeriods": 2} | options
        self._add(title, what, threshold, Namespace=namespace, MetricName=name, Dimensions=dimensions,
                  Period=FIVE_MINUTES, **settings)

    def expression(self, title: str, what: str, expression: str, threshold: float,
                   inputs: dict[str, tuple[str, str, list[MetricDimension], str]], **options: Any) -> None:
        queries = [MetricDataQuery(Id=key, ReturnData=False, MetricStat=MetricStat(
            Metric=MetricSpec(Namespace=namespace, MetricName=name, Dimensions=dimensions),
            Period=FIVE_MINUTES, Stat=stat)) for key, (namespace, name, dimensions, stat) in inputs.items()]
        queries.append(MetricDataQuery(Id="result", Expression=expression, Label=what, ReturnData=True))
        self._add(title, what, threshold, Metrics=queries, ComparisonOperator="GreaterThanThreshold",
                  EvaluationPeriods=2, **options)

    def _add(self, title: str, what: str, threshold: float, **properties: Any) -> None:
        self.template.add_resource(Alarm(
            title, AlarmDescription=Sub(f"${{AWS::StackName}}: {what}"), Threshold=threshold,
            AlarmActions=[self.topic], OKActions=[self.topic], TreatMissingData="notBreaching", **properties))
