"""Off-hours for non-production stages: the stage file's `schedule`, its EB scheduled actions window by window
of the time zone's UTC offset, the local cloud applying them on its schedule clock (records, and one hosted
environment whose instance really stops and starts), `eb_tools wake`, `status` and `cost`."""
from __future__ import annotations

import copy
import os
import socket
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests
import yaml
from botocore.exceptions import ClientError

from eb_tools import aws
from eb_tools import stage_file as stages
from eb_tools.cloud.elasticbeanstalk.clock import ScheduleClock
from eb_tools.cloud.instances.hosting import Hosting
from eb_tools.cloud.server import LocalCloud
from eb_tools.cost.estimate import estimate
from eb_tools.cost.report import render
from eb_tools.formats.scheduled_actions import ScheduledAction
from eb_tools.provision import environments
from eb_tools.release import diff as diffs
from eb_tools.release import status, tier_state, wake
from eb_tools.release.stage_view import StageView, key_of
from eb_tools.stage import desired, ebenv, schedule
from eb_tools.stage.target import StageTarget
from eb_tools.stage_file import StageFileError
from tests.cloud_clients import local_client
from tests.conftest import EbSeconds
from tests.test_instances import small_bundle

ROOT = Path(__file__).resolve().parent.parent
NAMESPACE = "aws:autoscaling:scheduledaction"
STACK = "64bit Amazon Linux 2023 v4.6.0 running Python 3.11"
HELSINKI_HOURS = {"time_zone": "Europe/Helsinki", "awake": "mon-fri 07:00-20:00"}
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)  # a Monday in Helsinki's winter time (UTC+2)
STAGES = """
application: offhours
region: us-east-1
platform: Python 3.11 running on 64bit Amazon Linux 2023
stages:
  nightly:
    isolation: nightly
    web: {instance_type: t3.micro, min: 2, max: 3}
    worker: {instance_type: t3.micro, min: 1, max: 2}
    plain_http: true
    mail: {from: no-reply@offhours.example.com}
    alarm_email: ops@example.com
    schedule: {time_zone: Europe/Helsinki, awake: "mon-fri 07:00-20:00"}
"""


# -- the stage file ---------------------------------------------------------------------------------------------
def shipped_with_schedule(stage: str, value: object) -> dict[str, Any]:
    data = copy.deepcopy(yaml.safe_load((ROOT / "eb_tools.yaml").read_text()))
    data["stages"][stage]["schedule"] = value
    return data


def error_of(tmp_path: Path, data: dict[str, Any]) -> str:
    path = tmp_path / "eb_tools.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(StageFileError) as caught:
        stages.load(path)
    return str(caught.value).replace(str(path), "eb_tools.yaml")  # as it reads where the file is the working one


@pytest.mark.parametrize(("awake", "days", "start", "end"), [
    ("mon-fri 07:00-20:00", {0, 1, 2, 3, 4}, 420, 1200),
    ("weekdays 7:30 - 18:00", {0, 1, 2, 3, 4}, 450, 1080),
    ("Mon,WED,fri 08:00-24:00", {0, 2, 4}, 480, 0),
    ("fri-mon 22:00-06:00", {4, 5, 6, 0}, 1320, 360),
    ("daily 06:00-23:00", set(range(7)), 360, 1380),
    ("weekends,mon 10:00-16:00", {5, 6, 0}, 600, 960),
])
def test_awake_hours_read_as_written(awake: str, days: set[int], start: int, end: int) -> None:
    schedule_of = stages.Schedule(time_zone="Europe/Helsinki", awake=awake)
    assert (set(schedule_of.hours.days), schedule_of.hours.start, schedule_of.hours.end) == (days, start, end)


def test_overnight_hours_are_awake_into_the_next_day() -> None:
    hours = stages.Schedule(time_zone="UTC", awake="fri 22:00-06:00").hours
    friday, saturday = datetime(2026, 12, 11), datetime(2026, 12, 12)
    assert [hours.awake_at(friday.replace(hour=h)) for h in (21, 22, 23)] == [False, True, True]
    assert [hours.awake_at(saturday.replace(hour=h)) for h in (5, 6, 22)] == [True, False, False]
    assert hours.sleep_days == frozenset({5}) and hours.minutes_a_week == 8 * 60


@pytest.mark.parametrize(("value", "expected"), [
    ({"time_zone": "Europe/Helsinky", "awake": "mon-fri 07:00-20:00"},
     "stages.staging.schedule.time_zone: 'Europe/Helsinky': is not a time zone this machine's time zone database "
     "knows (did you mean 'Europe/Helsinki'?): give an IANA name such as Europe/Helsinki"),
    ({"time_zone": "Europe/Helsinki", "awake": "mon-fri 07:00-07:00"},
     "stages.staging.schedule.awake: 'mon-fri 07:00-07:00': starts and ends at 07:00: such hours never sleep or "
     "never wake"),
    ({"time_zone": "Europe/Helsinki", "awake": "daily 00:00-24:00"}, "never sleep or never wake"),
    ({"time_zone": "Europe/Helsinki", "awake": "07:00-20:00"},
     "stages.staging.schedule.awake: '07:00-20:00': must read DAYS HH:MM-HH:MM, e.g. 'mon-fri 07:00-20:00'"),
    ({"time_zone": "Europe/Helsinki", "awake": "mon-frii 07:00-20:00"},
     "'frii' is not a day (did you mean 'fri'?): use mon, tue, wed, thu, fri, sat, sun"),
    ({"time_zone": "Europe/Helsinki", "awake": "mon,,fri 07:00-20:00"}, "'' is not a day or a range of days"),
    ({"time_zone": "Europe/Helsinki", "awake": "mon-fri 07:00-25:00"},
     "'25:00' is not a time of day: write HH:MM from 00:00 to 23:59"),
    ({"time_zone": "Europe/Helsinki", "awake": "mon-fri 07:00-20:00", "sleep": True},
     "stages.staging.schedule.sleep: true: unknown key (allowed: time_zone, awake, allow_production)"),
    ({"awake": "mon-fri 07:00-20:00"}, "stages.staging.schedule.time_zone: required"),
])
def test_each_bad_schedule_is_one_line_naming_its_key(tmp_path: Path, value: dict[str, Any], expected: str) -> None:
    message = error_of(tmp_path, shipped_with_schedule("staging", value))
    assert expected in message and "\n" not in message and message.startswith("eb_tools.yaml: stages.staging.")


def test_production_sleeps_only_when_its_stage_file_says_so(tmp_path: Path) -> None:
    message = error_of(tmp_path, shipped_with_schedule("production", HELSINKI_HOURS))
    assert message.startswith("eb_tools.yaml: stages.production.schedule: 'mon-fri 07:00-20:00': refused for a "
                               "production stage") and "allow_production: true" in message
    in_its_group = shipped_with_schedule("staging", HELSINKI_HOURS)
    in_its_group["stages"]["staging"]["isolation"] = "production"
    in_its_group["stages"].pop("production")
    assert "stages.staging.schedule: 'mon-fri 07:00-20:00': refused for a production stage" in \
        error_of(tmp_path, in_its_group)
    path = tmp_path / "allowed.yaml"
    path.write_text(yaml.safe_dump(shipped_with_schedule("production", {**HELSINKI_HOURS, "allow_production": True})))
    assert stages.load(path).stage("production").schedule is not None


# -- windows and crons -----------------------------------------------------------------------------------------
def actions_of(zone: str, awake: str, now: datetime = NOW) -> dict[str, ScheduledAction]:
    schedule_of = stages.Schedule(time_zone=zone, awake=awake)
    return {a.name: a for a in schedule.planned(schedule_of, schedule.Sizes(2, 6, 2), now)}


def runs(action: ScheduledAction, since: datetime, before: datetime) -> list[datetime]:
    found, moment = [], since
    while (moment := action.next_run(moment, before)) is not None:  # type: ignore[assignment]
        found.append(moment)
        moment += timedelta(minutes=1)
    return found


def assert_local_hours(actions: dict[str, ScheduledAction], zone: str, days: set[int], now: datetime) -> None:
    """Every run of every action, over the planned year, is at 07:00 (wake) or 20:00 (sleep) local time on one of
    `days`: the DST changes are bridged by the windows."""
    count = 0
    for action in actions.values():
        for moment in runs(action, now, now + timedelta(days=365)):
            local = moment.astimezone(ZoneInfo(zone))
            assert local.weekday() in days and f"{local:%H:%M}" == ("07:00" if action.name.startswith("wake")
                                                                   else "20:00"), (action.name, moment, local)
            count += 1
    assert count > 2 * 5 * 50  # a wake and a sleep on each weekday of the year


def test_helsinki_gets_a_pair_per_utc_offset_across_its_dst_changes() -> None:
    found = actions_of("Europe/Helsinki", "mon-fri 07:00-20:00")
    assert sorted(found) == ["sleep-20261025", "sleep-20270328", "sleep-20271031",
                             "wake-20261025", "wake-20270328", "wake-20271031"]
    winter, summer = found["wake-20261025"], found["wake-20270328"]
    assert (winter.recurrence.expression, found["sleep-20261025"].recurrence.expression) == \
        ("0 5 * * 1-5", "0 18 * * 1-5")  # UTC+2
    assert (summer.recurrence.expression, found["sleep-20270328"].recurrence.expression) == \
        ("0 4 * * 1-5", "0 17 * * 1-5")  # UTC+3
    # The window already begun starts with no StartTime (Auto Scaling refuses one in the past); a later one at its
    # first run; each ends with its window, the wake a minute before the sleep (unique times, as EB wants them).
    assert (winter.start, winter.end, found["sleep-20261025"].end) == \
        (None, datetime(2027, 3, 28, 0, 59, tzinfo=UTC), datetime(2027, 3, 28, 1, 0, tzinfo=UTC))
    assert (summer.start, found["sleep-20270328"].start) == \
        (datetime(2027, 3, 29, 4, 0, tzinfo=UTC), datetime(2027, 3, 29, 17, 0, tzinfo=UTC))
    assert found["sleep-20271031"].end == datetime(2028, 3, 26, 1, 0, tzinfo=UTC)
    assert_local_hours(found, "Europe/Helsinki", {0, 1, 2, 3, 4}, NOW)


def test_auckland_shifts_the_day_of_week_where_utc_crosses_midnight() -> None:
    found = actions_of("Pacific/Auckland", "mon-fri 07:00-20:00")
    summer = [a for name, a in found.items() if name.startswith("wake") and a.start is None][0]  # NZDT, UTC+13
    assert summer.recurrence.expression == "0 18 * * 0-4"  # Monday 07:00 is Sunday 18:00 UTC
    assert {a.recurrence.expression for a in found.values()} == {"0 18 * * 0-4", "0 7 * * 1-5", "0 19 * * 0-4",
                                                                 "0 8 * * 1-5"}
    assert_local_hours(found, "Pacific/Auckland", {0, 1, 2, 3, 4}, NOW)


def test_a_zone_without_dst_gets_one_pair_with_no_start_or_end() -> None:
    found = actions_of("Asia/Tokyo", "mon-fri 07:00-20:00")
    assert sorted(found) == ["sleep", "wake"]
    assert all(a.start is None and a.end is None for a in found.values())
    assert (found["wake"].recurrence.expression, found["sleep"].recurrence.expression) == \
        ("0 22 * * 0-4", "0 11 * * 1-5")


def test_planning_again_changes_nothing_until_a_new_window_begins() -> None:
    schedule_of = stages.Schedule(**HELSINKI_HOURS)
    sizes = schedule.Sizes(2, 6, 2)
    now = schedule.settings(schedule.planned(schedule_of, sizes, NOW))
    assert schedule.settings(schedule.planned(schedule_of, sizes, NOW + timedelta(days=30))) == now
    spring = datetime(2027, 3, 29, 12, tzinfo=UTC)  # the summer window has begun
    later = schedule.settings(schedule.planned(schedule_of, sizes, spring))
    current = {(n, o): v for n, o, v in now}
    stale = schedule.stale(current, later, spring)
    assert {n for n, _ in stale} == {f"wake-20261025.{NAMESPACE}", f"sleep-20261025.{NAMESPACE}",
                                     f"wake-20270328.{NAMESPACE}", f"sleep-20270328.{NAMESPACE}"}
    assert (f"wake-20270328.{NAMESPACE}", "StartTime") in stale  # the begun window loses its start, keeps the rest
    assert (f"wake-20270328.{NAMESPACE}", "Recurrence") not in stale
    assert any(n == f"wake-20280326.{NAMESPACE}" for n, _, _ in later)  # a year ahead again


def test_provision_sets_the_schedule_on_both_tiers_and_diff_explains_it() -> None:
    stage = stages.StageFile.model_validate(yaml.safe_load(STAGES)).stage("nightly")
    outputs = fake_outputs("https://sqs.example/queue")
    web, worker = (desired.desired_settings(stage, tier, outputs, NOW) for tier in ("web", "worker"))
    wakes = {tier: {(o, v) for n, o, v in settings if n == f"wake-20261025.{NAMESPACE}"}
             for tier, settings in (("web", web), ("worker", worker))}
    assert wakes["web"] >= {("MinSize", "2"), ("MaxSize", "3"), ("DesiredCapacity", "2"), ("Recurrence", "0 5 * * 1-5")}
    assert wakes["worker"] >= {("MinSize", "1"), ("MaxSize", "2"), ("DesiredCapacity", "1")}
    key = key_of("web", f"sleep-20261025.{NAMESPACE}", "MinSize")
    assert key == ("web", "option", f"sleep-20261025.{NAMESPACE} MinSize")
    nightly = StageView("nightly", runs={key: "0"}, desired={key: "0"})
    always_up = StageView("other", runs={}, desired={})
    [difference] = diffs.compare(nightly, always_up)
    assert (difference.name, difference.left, difference.right, difference.explained) == (key[2], "0", None, True)
    nightly.runs[key] = "1"  # changed by hand
    assert [d.explained for d in diffs.compare(nightly, always_up)] == [False]


def fake_outputs(queue_url: str) -> dict[str, str]:
    names = ("PrivateSubnetIds", "PublicSubnetIds", "WebInstanceProfile", "WorkerInstanceProfile", "WebSecurityGroup",
             "WorkerSecurityGroup", "VpcId", "ServiceRole", "SecretKeySecretArn", "UploadsBucket", "BackupBucket",
             "CdnDomain", "LoadBalancerSecurityGroup")
    return {**{name: f"{name.lower()}-1" for name in names}, "WorkerQueueUrl": queue_url}


def test_cost_shows_what_the_schedule_saves_and_what_keeps_running(tmp_path: Path) -> None:
    path = tmp_path / "eb_tools.yaml"
    path.write_text(yaml.safe_dump(shipped_with_schedule("staging", HELSINKI_HOURS)))
    result = estimate(stages.load(path), "staging")
    assert result.saving is not None
    instances = [i for i in result.items if i.resource.startswith(("EC2 ", "Public IPv4 (instances)"))]
    share = 65 / 168  # 13 hours on 5 days of the week's 168
    assert result.saving.awake_share == pytest.approx(share)
    assert result.saving.monthly[0] == pytest.approx(sum(i.monthly[0] for i in instances) * (1 - share))
    assert result.saving.total[1] == pytest.approx(result.total[1] - sum(i.monthly[1] for i in instances) * (1 - share))
    assert result.saving.instance_hours == pytest.approx((3 * 730 * share, 3 * 730 * (1 - share)))
    document = result.as_dict()["schedule"]
    assert document["saving"]["min"] == round(result.saving.monthly[0], 2) and "RDS" in document["note"]
    lines: list[str] = []
    render(result, lines.append)
    heading = "schedule: awake mon-fri 07:00-20:00 (Europe/Helsinki), 39% of the week"
    assert any(line.startswith(heading) for line in lines)
    assert any("only the instances sleep: the load balancer, NAT gateways, RDS" in line for line in lines)
    assert estimate(stages.load(ROOT / "eb_tools.yaml"), "staging").saving is None


# -- the local cloud applies them ------------------------------------------------------------------------------
def act(name: str, sizes: tuple[int, int, int], **times: str) -> list[dict[str, str]]:
    options = dict(zip(("MinSize", "MaxSize", "DesiredCapacity"), map(str, sizes), strict=True)) | times
    return [{"ResourceName": name, "Namespace": NAMESPACE, "OptionName": o, "Value": v} for o, v in options.items()]


def described(eb: Any, name: str) -> tuple[str, str, int]:
    env = eb.describe_environments(EnvironmentNames=[name])["Environments"][0]
    listed = eb.describe_instances_health(EnvironmentName=name, AttributeNames=["All"])["InstanceHealthList"]
    return env["Health"], env["HealthStatus"], len(listed)


@pytest.fixture
def fast(cloud: LocalCloud, eb_seconds: EbSeconds) -> Iterator[Any]:
    """`fast(start, speed)`: the session cloud's schedule clock from `start` at `speed`; as before afterwards. Its
    EB steps take 0.05 s meanwhile."""
    eb_seconds(cloud, 0.05)
    before = cloud.schedule_clock

    def set_clock(start: datetime, speed: float) -> None:
        cloud.schedule_clock = ScheduleClock(start, speed)

    yield set_clock
    cloud.schedule_clock = before


def test_scheduled_actions_sleep_and_wake_an_environment_on_the_schedule_clock(cloud: LocalCloud, fast: Any) -> None:
    eb = local_client("elasticbeanstalk", cloud.url)
    app = f"sched-{uuid.uuid4().hex[:6]}"
    eb.create_application(ApplicationName=app)
    name = f"{app}-web"
    eb.create_environment(ApplicationName=app, EnvironmentName=name, SolutionStackName=STACK,
                          OptionSettings=[{"Namespace": "aws:autoscaling:asg", "OptionName": "MinSize", "Value": "2"},
                                          *act("sleep", (0, 0, 0), Recurrence="10 6 * * *"),
                                          *act("wake", (2, 4, 2), Recurrence="15 6 * * *")])
    aws.wait_until(lambda: described(eb, name) == ("Green", "Ok", 2), 10, "launched", 0.05)
    listed = eb.describe_configuration_settings(ApplicationName=app, EnvironmentName=name)
    scheduled = [o for o in listed["ConfigurationSettings"][0]["OptionSettings"] if o["Namespace"] == NAMESPACE]
    assert {(o["ResourceName"], o["OptionName"], o["Value"]) for o in scheduled} >= {
        ("sleep", "DesiredCapacity", "0"), ("wake", "Recurrence", "15 6 * * *")}
    fast(datetime(2026, 12, 7, 6, 8, tzinfo=UTC), 600)  # a second is ten minutes: 06:10 comes in 0.2 s
    aws.wait_until(lambda: described(eb, name) == ("Grey", "NoData", 0), 10, "asleep at 06:10", 0.1)
    report = eb.describe_environment_health(EnvironmentName=name, AttributeNames=["All"])
    assert report["Causes"] == ["There are no instances. Auto Scaling group desired capacity is set to 0."]
    assert described(eb, name) == ("Grey", "NoData", 0)  # still asleep: nothing wakes it before 06:15
    aws.wait_until(lambda: described(eb, name) == ("Green", "Ok", 2), 10, "awake at 06:15", 0.1)
    events = [e["Message"] for e in reversed(eb.describe_events(ApplicationName=app)["Events"])]
    removed = [m for m in events if m.startswith("Removed instances [")]
    added = [m for m in events if m.startswith("Added instances [")]
    assert len(removed) == 1 and len(added) == 1 and removed[0].endswith("from your environment.")
    assert "Environment health has transitioned from Ok to No Data. There are no instances. Auto Scaling group " \
           "desired capacity is set to 0." in events
    assert events.index(removed[0]) < events.index(added[0])


def test_auto_scaling_refusals_and_resource_names_through_the_api(cloud: LocalCloud, fast: Any) -> None:
    eb = local_client("elasticbeanstalk", cloud.url)
    app = f"refuse-{uuid.uuid4().hex[:6]}"
    eb.create_application(ApplicationName=app)
    name = f"{app}-web"
    fast(datetime(2026, 12, 7, 6, 0, tzinfo=UTC), 1)
    eb.create_environment(ApplicationName=app, EnvironmentName=name, SolutionStackName=STACK,
                          OptionSettings=act("once", (1, 1, 1), StartTime="2026-12-08T06:00:00Z"))
    aws.wait_until(lambda: described(eb, name)[0] == "Green", 10, "launched", 0.05)
    for settings, message in [
            (act("late", (1, 1, 1), StartTime="2026-12-07T05:00:00Z"), "Given start time is in the past."),
            (act("twin", (1, 1, 1), StartTime="2026-12-08T06:00:00Z"),
             "Scheduled action with this scheduled start time already exists."),
            (act("bad", (1, 1, 1), Recurrence="0 25 * * *"), "not a cron expression: it hour value '25' is out of "
                                                             "range 0-23"),
            (act("bad", (1, 1, 1), StartTime="tomorrow"), "not an ISO 8601 timestamp")]:
        with pytest.raises(ClientError) as refused:
            eb.update_environment(EnvironmentName=name, OptionSettings=settings)
        assert refused.value.response["Error"]["Code"] == "ConfigurationValidationException"
        assert message in refused.value.response["Error"]["Message"]
    eb.update_environment(EnvironmentName=name, OptionsToRemove=[
        {"ResourceName": "once", "Namespace": NAMESPACE, "OptionName": option} for option in ("StartTime", "MinSize")])
    aws.wait_until(lambda: eb.describe_environments(EnvironmentNames=[name])["Environments"][0]["Status"] == "Ready",
                   10, "updated", 0.05)
    left = {(o.get("ResourceName"), o["OptionName"]) for o in eb.describe_configuration_settings(
        ApplicationName=app, EnvironmentName=name)["ConfigurationSettings"][0]["OptionSettings"]
        if o["Namespace"] == NAMESPACE}
    assert left == {("once", "MaxSize"), ("once", "DesiredCapacity")}



# -- provision, wake and status against the cloud ----------------------------------------------------------------
@pytest.fixture
def nightly(cloud: LocalCloud, fast: Any, tmp_path: Path) -> StageTarget:
    """The stage's application and both environments on version v1 as provision makes them (stage/desired.py,
    with stand-in stack outputs), on a Friday at 19:57 in Helsinki, four minutes of the schedule clock a second."""
    path = tmp_path / "eb_tools.yaml"
    path.write_text(STAGES)
    stage = stages.load(path).stage("nightly")
    target = aws.Target(aws.local_session("us-east-1"), cloud.url, poll_seconds=0.05)
    eb, s3 = target.client("elasticbeanstalk"), target.client("s3")
    eb.create_application(ApplicationName=stage.application)
    bucket = eb.create_storage_location()["S3Bucket"]
    s3.put_object(Bucket=bucket, Key="offhours/v1.zip", Body=small_bundle())
    eb.create_application_version(ApplicationName=stage.application, VersionLabel="v1",
                                  SourceBundle={"S3Bucket": bucket, "S3Key": "offhours/v1.zip"})
    queue = target.client("sqs").create_queue(QueueName=f"offhours-{uuid.uuid4().hex[:6]}")["QueueUrl"]
    outputs = fake_outputs(queue)
    fast(datetime(2026, 12, 11, 17, 57, tzinfo=UTC), 240)
    plan = environments.plan_application(eb, stage, outputs, "v1", now=cloud.schedule_now())
    environments.execute(eb, stage, plan, lambda _: None, interval=0.05)
    again = environments.plan_application(eb, stage, outputs, "v1", now=cloud.schedule_now())
    assert [e.action for e in again.environments] == ["none", "none"]  # nothing to change, a second time
    return StageTarget(stage, target)


def tiers(where: StageTarget) -> dict[str, tuple[int, str]]:
    found = tier_state.read(where.client("elasticbeanstalk"), where.application, where.live())
    return {tier: (sum(s.instances.values()), s.health_status) for tier, s in found.items()}


def test_wake_brings_a_sleeping_stage_up_and_status_says_so(cloud: LocalCloud, nightly: StageTarget, fast: Any) -> None:
    asleep = {"web": (0, "NoData"), "worker": (0, "NoData")}
    aws.wait_until(lambda: tiers(nightly) == asleep, 15, "asleep at 20:00 Helsinki time", 0.1)
    report = status.stage_status(nightly, cloud.schedule_now())
    assert report["consistent"] and report["schedule"]["tiers"]["web"]["asleep"]
    assert report["schedule"]["tiers"]["web"]["by"] == "sleep-20261025" and report["schedule"]["warning"] is None
    lines: list[str] = []
    status.render(report, lines.append)
    expected = ("web    asleep since Fri 2026-12-11 20:00 EET (sleep-20261025); awake from Mon 2026-12-14 07:00 EET "
                "(wake-20261025)")
    assert any(line.strip().startswith(expected) for line in lines), "\n".join(lines)
    # --for 2h ends at 22:0x on a Friday, outside the hours: a one-time sleep is scheduled for it
    woken = wake.wake(nightly, lines.append, for_=timedelta(hours=2), clock=cloud.schedule_now, timeout=30)
    assert tiers(nightly) == {"web": (2, "Ok"), "worker": (1, "Ok")}
    assert woken["sleep_at"] is not None and woken["tiers"]["web"]["after"]["instances"] == 2
    assert any("Added instances [" in line for line in lines), lines
    fast(cloud.schedule_now(), 7200)  # two hours a second: past the --for
    aws.wait_until(lambda: tiers(nightly) == asleep, 15, "asleep after --for", 0.1)
    fast(cloud.schedule_now(), 240)
    # without --for: awake until the schedule's next sleep; the earlier wake's sleep-after-wake goes
    woken = wake.wake(nightly, lambda _: None, clock=cloud.schedule_now, timeout=30)
    assert woken["sleep_at"] is None and woken["notes"][0].startswith("awake until the schedule's next sleep, Mon")
    live = ebenv.settings(nightly.client("elasticbeanstalk"), nightly.application, nightly.environments["web"])
    assert (f"{schedule.WAKE_NOW}.{NAMESPACE}", "StartTime") in live
    assert not any(key.startswith(schedule.SLEEP_AFTER_WAKE) for key, _ in live)
    assert tiers(nightly) == {"web": (2, "Ok"), "worker": (1, "Ok")}
    report = status.stage_status(nightly, cloud.schedule_now())
    assert report["consistent"] and report["label"] == "v1"
    assert report["schedule"]["tiers"]["worker"]["by"] == "wake-now"
    assert not report["schedule"]["tiers"]["worker"]["asleep"]
    # awake already: the plan is empty; --for into Monday's hours leaves the schedule to take over
    again = wake.wake(nightly, lambda _: None, for_=timedelta(hours=60), clock=cloud.schedule_now, dry_run=True)
    assert again["awake_already"] and again["sleep_at"] is None and "inside the awake hours" in again["notes"][0]


def test_wake_refuses_a_stage_without_a_schedule_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "eb_tools.yaml"
    path.write_text(STAGES.replace('    schedule: {time_zone: Europe/Helsinki, awake: "mon-fri 07:00-20:00"}\n', ""))
    where = StageTarget(stages.load(path).stage("nightly"), aws.Target(aws.local_session(), "http://127.0.0.1:9"))
    with pytest.raises(wake.ReleaseError) as refused:
        wake.wake(where, lambda _: None)
    assert str(refused.value) == (f"{path}: stages.nightly: no schedule: the stage never sleeps, so there is "
                                  "nothing to wake (see schedule in the README)")
    with pytest.raises(wake.ReleaseError, match=r"^--for 5m: give between 10m and 7d"):
        wake.duration("5m")
    assert wake.duration("1h30m") == timedelta(minutes=90)


# -- a hosted environment: its instance's processes really stop and start ------------------------------------------
def _listening(address: tuple[str, int]) -> bool:
    try:
        socket.create_connection(address, timeout=2).close()
    except OSError:
        return False
    return True


def test_a_hosted_instance_stops_at_sleep_and_a_new_one_serves_at_wake(tmp_path: Path) -> None:
    platform = {k: os.environ[k] for k in ("HOME", "LANG", "PATH") if k in os.environ}
    hosted = LocalCloud(eb_transition_seconds=0.05,
                        hosting=Hosting(tmp_path, lambda _env, _vars: {**platform, "GUNICORN_WORKERS": "1"})).start()
    try:
        eb, s3 = local_client("elasticbeanstalk", hosted.url), local_client("s3", hosted.url)
        app = f"hosted-{uuid.uuid4().hex[:6]}"
        name = f"{app}-web"
        eb.create_application(ApplicationName=app)
        bucket = eb.create_storage_location()["S3Bucket"]
        s3.put_object(Bucket=bucket, Key=f"{app}/v1.zip", Body=small_bundle())
        eb.create_application_version(ApplicationName=app, VersionLabel="v1",
                                      SourceBundle={"S3Bucket": bucket, "S3Key": f"{app}/v1.zip"})
        eb.create_environment(ApplicationName=app, EnvironmentName=name, SolutionStackName=STACK, VersionLabel="v1",
                              OptionSettings=[*act("sleep", (0, 0, 0), Recurrence="10 6 * * *"),
                                              *act("wake", (1, 1, 1), Recurrence="20 6 * * *")])
        aws.wait_until(lambda: described(eb, name) == ("Green", "Ok", 1), 60, "launched", 0.1)
        balancer = str(hosted.balancer_url(name))
        aws.wait_until(lambda: requests.get(balancer, timeout=5).status_code == 200, 10, "serving", 0.1)
        [first] = [i["InstanceId"] for i in eb.describe_instances_health(EnvironmentName=name)["InstanceHealthList"]]
        address = hosted.eb_settings.hosting.address(first)
        # From here on only the load balancer is asked: the cloud sleeps and wakes the environment by itself.
        hosted.schedule_clock = ScheduleClock(datetime(2026, 12, 7, 6, 8, tzinfo=UTC), 300)
        aws.wait_until(lambda: requests.get(balancer, timeout=5).status_code == 503, 10, "503 asleep", 0.1)
        # The instance leaves the load balancer first, drains (up to 5 s), then its app stops.
        aws.wait_until(lambda: not _listening(address), 15, "the instance's app stopped", 0.1)
        # Woken: a new instance boots and deploys (the load balancer, failing open meanwhile, may answer 502),
        # then serves as the environment's one healthy instance.
        aws.wait_until(lambda: described(eb, name) == ("Green", "Ok", 1), 60, "woken", 0.1)
        aws.wait_until(lambda: requests.get(balancer, timeout=5).status_code == 200, 30, "serving awake", 0.1)
        [second] = [i["InstanceId"] for i in eb.describe_instances_health(EnvironmentName=name)["InstanceHealthList"]]
        assert second != first and requests.get(f"{balancer}/", timeout=5).json()["version"] == "v1"
    finally:
        hosted.stop()
