"""The stage file, `eb_tools.yaml`: the stages eb_tools provisions, typed and validated.

pydantic checks every value and names its key path; this module turns each
problem into one line — file, key path, value, what is allowed — so a bad value
stops `provision` before any AWS call, without a traceback, and a file with
several problems shows them all at once. `load(path)` reads the file, `parse(text,
source)` the text of one not written yet (`eb_tools init`); `StageFile.stage(name)`
gives one stage with the file's defaults (region,
application, platform) applied.
"""
from __future__ import annotations

import difflib
import json
import re
import types
import zoneinfo
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    PrivateAttr,
    ValidationError,
    model_validator,
)

from eb_tools import wheelhouse
from eb_tools.errors import StageFileError
from eb_tools.formats import awake_hours

PRODUCTION = "production"


class Problem(ValueError):
    """A cross-field problem, raised by a validator and pinned to `key` (relative to the validated model)."""

    def __init__(self, key: tuple[str, ...], value: object, message: str) -> None:
        super().__init__(message)
        self.key = key
        self.value = value


def _matching(pattern: str, what: str) -> AfterValidator:
    """A string check whose error says what is allowed, not the regular expression."""
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise ValueError(f"must be {what}")
        return value

    return AfterValidator(check)


def _digits_as_text(value: object) -> object:
    # An unquoted account id is a YAML integer; 12 digits are unambiguous, so take them.
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


Text = Annotated[str, Field(strict=True)]
Slug = Annotated[Text, _matching(r"[a-z][a-z0-9-]{0,18}[a-z0-9]", "2-20 lowercase letters, digits or hyphens, "
                                 "starting with a letter")]
# Application names end up in stack, environment, bucket and role names: lowercase and short.
ApplicationName = Annotated[Text, _matching(r"[a-z][a-z0-9-]{0,28}[a-z0-9]", "2-30 lowercase letters, digits or "
                                            "hyphens, starting with a letter")]
Region = Annotated[Text, _matching(r"[a-z]{2}(-[a-z]+)+-\d", "an AWS region name such as eu-west-1")]
Account = Annotated[Text, BeforeValidator(_digits_as_text), _matching(r"\d{12}", "a 12-digit AWS account id "
                                                                      "(quote it if it starts with 0)")]
InstanceType = Annotated[Text, _matching(r"[a-z][a-z0-9-]*\.[a-z0-9]+", "an EC2 instance type such as t3.small")]
DbInstanceClass = Annotated[Text, _matching(r"db\.[a-z0-9-]+\.[a-z0-9]+", "an RDS instance class such as "
                                            "db.t4g.micro")]
CacheNodeType = Annotated[Text, _matching(r"cache\.[a-z0-9-]+\.[a-z0-9]+", "an ElastiCache node type such as "
                                          "cache.t4g.micro")]
EngineVersion = Annotated[Text, _matching(r"\d+\.\d+\.\d+", "a quoted engine version such as '10.11.14' or "
                                          "'8.0.39'")]
Email = Annotated[Text, _matching(r"[^@\s]+@[^@\s]+\.[^@\s]+", "an e-mail address")]
DomainName = Annotated[Text, _matching(r"(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}",
                                       "a lowercase host name such as app.example.com")]
CERTIFICATE_ARN = re.compile(r"arn:aws[a-z-]*:acm:(?P<region>[a-z0-9-]+):\d{12}:certificate/[0-9a-f-]{36}")
CertificateArn = Annotated[Text, _matching(CERTIFICATE_ARN.pattern, "an ACM certificate ARN "
                                           "(arn:aws:acm:REGION:ACCOUNT:certificate/ID)")]


class _Model(BaseModel):
    """Unknown keys are errors: a typo must not silently fall back to a default."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# EB's deployment policies (aws:elasticbeanstalk:command DeploymentPolicy). TrafficSplitting sends a share of the
# load balancer's traffic to the new instances, so it needs an Application Load Balancer: a worker has none (EB
# guide, "Deployment policies and settings", supported policies table).
WorkerPolicy = Literal["AllAtOnce", "Rolling", "RollingWithAdditionalBatch", "Immutable"]
WebPolicy = Literal["AllAtOnce", "Rolling", "RollingWithAdditionalBatch", "Immutable", "TrafficSplitting"]
BATCHED = ("Rolling", "RollingWithAdditionalBatch")  # the policies BatchSize applies to


def _batch_size(value: object) -> int | str:
    """A number of instances, or a percentage of them written as '30%' (BatchSizeType Fixed or Percentage)."""
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 10000:
        return value
    if isinstance(value, str) and re.fullmatch(r"(100|[1-9][0-9]?)%", value):
        return value
    raise ValueError("must be a number of instances (1 to 10000) or a quoted percentage from '1%' to '100%'")


BatchSize = Annotated[int | str, PlainValidator(_batch_size)]

MAX_ROTATION_DAYS = 1000  # Secrets Manager's RotationRules AutomaticallyAfterDays: 1 to 1000


def _rotation_days(value: object) -> int:
    """Days between scheduled rotations of the database secret; 0 (or null) for no schedule."""
    if value is None:
        return 0
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_ROTATION_DAYS:
        return value
    raise ValueError(f"must be a number of days from 1 to {MAX_ROTATION_DAYS} (Secrets Manager's "
                     "AutomaticallyAfterDays), or 0 or null for no rotation schedule")


RotationDays = Annotated[int, PlainValidator(_rotation_days)]


class _Deployment(_Model):
    """How EB puts a new version on a tier's instances: `batch_size` instances (or a percentage of them) at a
    time for the rolling policies."""

    policy: str
    batch_size: BatchSize | None = None

    @model_validator(mode="after")
    def _batched(self) -> _Deployment:
        if self.batch_size is not None and self.policy not in BATCHED:
            raise Problem(("batch_size",), self.batch_size, f"applies to Rolling and RollingWithAdditionalBatch "
                          f"only; {self.policy} deploys to every instance (or new ones) at once: leave it out")
        return self

    def option_settings(self) -> list[tuple[str, str]]:
        """(option, value) of aws:elasticbeanstalk:command: the policy, and a batch of one by default."""
        size = str(self.batch_size or 1)
        kind = "Percentage" if size.endswith("%") else "Fixed"
        return [("DeploymentPolicy", self.policy), ("BatchSizeType", kind),
                ("BatchSize", size.rstrip("%"))]


class WorkerDeployment(_Deployment):
    policy: WorkerPolicy = "Rolling"  # one instance at a time; its queue holds the tasks meanwhile


class WebDeployment(_Deployment):
    policy: WebPolicy = "RollingWithAdditionalBatch"  # full capacity throughout, a failure caught on new capacity


class _Tier(_Model):
    instance_type: InstanceType
    min: int = Field(ge=1)
    max: int = Field(ge=1)


class WorkerTier(_Tier):
    deployment: WorkerDeployment = WorkerDeployment()


class WebTier(_Tier):
    """The web tier scales 2..6 by default, as the Oppima setup does."""

    min: int = Field(default=2, ge=1)
    max: int = Field(default=6, ge=1)
    deployment: WebDeployment = WebDeployment()
    # A second, identical web environment (<app>-<stage>-web-b) for `eb_tools promote --strategy swap`.
    blue_green: bool = False


class BundleSettings(_Model):
    """What the stage's bundle carries. wheelhouse: the lock's wheels for the stage's platform, so instances
    install from the bundle alone (eb_tools/wheelhouse.py). Off by default: the hashed lock already makes every
    instance install the same files, and a wheelhouse adds the wheels' megabytes to every version, needs them
    fetched for the stage's platform when bundling, and ties a label to one architecture; turn it on where
    instances must not depend on a package index at deployment or scale-out."""

    wheelhouse: bool = False


class Database(_Model):
    engine: Literal["mariadb", "mysql"]
    engine_version: EngineVersion
    instance_class: DbInstanceClass
    multi_az: bool = False
    read_replicas: int = Field(default=0, ge=0, le=5)
    allocated_storage_gb: int = Field(default=20, ge=20, le=65536)
    max_storage_gb: int = Field(default=100, ge=20, le=65536)
    backup_retention_days: int = Field(default=7, ge=0, le=35)
    deletion_protection: bool = False
    # What `eb_tools db restore --drill` must restore and verify within (the setup promises 15 minutes).
    restore_goal_minutes: int = Field(default=15, ge=1, le=1440)
    # Secrets Manager's hosted rotation of the master password every that many days (provision/rotation.py).
    rotation_days: RotationDays = 30

    @property
    def rotates(self) -> bool:
        """Whether the stage's database secret has a rotation schedule."""
        return self.rotation_days > 0

    @model_validator(mode="after")
    def _consistent(self) -> Database:
        if self.max_storage_gb < self.allocated_storage_gb:
            raise Problem(("max_storage_gb",), self.max_storage_gb,
                          f"must be at least allocated_storage_gb ({self.allocated_storage_gb})")
        if self.read_replicas and not self.backup_retention_days:
            # RDS creates read replicas only from a source with automated backups.
            raise Problem(("backup_retention_days",), 0, f"must be at least 1 with read_replicas "
                          f"({self.read_replicas}): RDS replicates only a source with backups")
        return self


class Redis(_Model):
    node_type: CacheNodeType
    replicas: int = Field(default=0, ge=0, le=5)


def _time_zone(value: str) -> str:
    """An IANA time zone this machine's time zone database knows (zoneinfo)."""
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        close = difflib.get_close_matches(value, sorted(zoneinfo.available_timezones()), n=1, cutoff=0.7)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ValueError(f"is not a time zone this machine's time zone database knows{hint}: give an IANA name "
                         "such as Europe/Helsinki") from None
    return value


def _awake(value: str) -> str:
    try:
        awake_hours.parse(value)
    except awake_hours.AwakeHoursError as error:
        raise ValueError(str(error)) from None
    return value


class Schedule(_Model):
    """Off-hours: outside the `awake` hours (formats/awake_hours.py) of `time_zone`, both tiers run no instance
    (EB scheduled actions, stage/schedule.py). A production stage takes it only with `allow_production: true`."""

    time_zone: Annotated[Text, AfterValidator(_time_zone)]
    awake: Annotated[Text, AfterValidator(_awake)]
    allow_production: bool = False

    @property
    def hours(self) -> awake_hours.AwakeHours:
        return awake_hours.parse(self.awake)

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)


class Domain(_Model):
    name: DomainName
    certificate_arn: CertificateArn


class Mail(_Model):
    """Who the stage's mail comes from. SES sends only from an identity it has verified: the address itself
    (SES mails it a link to follow) or, with `identity: domain`, its domain (Easy DKIM: three CNAME records)."""

    model_config = ConfigDict(extra="forbid", frozen=True, serialize_by_alias=True)

    sender: Email = Field(alias="from")
    identity: Literal["address", "domain"] = "address"

    @property
    def identity_name(self) -> str:
        """The SES identity the stage creates and the worker may send from: the address, or its domain."""
        return self.sender if self.identity == "address" else self.sender.rsplit("@", 1)[1].lower()


class StageSettings(_Model):
    """One stage as written under `stages:`; `region` falls back to the file's."""

    profile: Text | None = None
    account: Account | None = None
    region: Region | None = None
    isolation: Slug
    nat: bool = False
    web: WebTier
    worker: WorkerTier
    database: Database | None = None
    redis: Redis | None = None
    domain: Domain | None = None
    # No domain: served over plain http at the EB address, which the stage file must say (see _scheme).
    plain_http: bool = False
    mail: Mail | None = None  # required: `_tiers` names it with an example rather than pydantic's bare "required"
    alarm_email: Email
    bundle: BundleSettings = BundleSettings()
    schedule: Schedule | None = None  # off-hours: no instances outside the awake hours

    @model_validator(mode="after")
    def _tiers(self) -> StageSettings:
        for name in ("web", "worker"):
            tier: _Tier = getattr(self, name)
            if tier.min > tier.max:
                raise Problem((name, "min"), tier.min, f"must be at most {name}.max ({tier.max})")
        if self.mail is None:
            raise Problem(("mail",), _MISSING, "required: the address the stage's mail comes from, e.g. mail: "
                          "{from: no-reply@app.example.com}; SES sends only from an identity the stage verifies")
        return self

    def check_scheme(self) -> None:
        """HTTPS (a domain) or plain http said outright: a browser keeps a Secure session cookie only over
        HTTPS, so a stage silently served over http would let nobody log in."""
        if self.domain is None and not self.plain_http:
            raise Problem(("domain",), _MISSING, "required unless plain_http: true: HTTPS on the load balancer "
                          "needs a domain and its certificate; a stage served over plain http at its "
                          "elasticbeanstalk.com address must say plain_http: true (its session cookie then goes "
                          "without the Secure flag)")
        if self.domain is not None and self.plain_http:
            raise Problem(("plain_http",), True, "must be left out with a domain: the stage is served over HTTPS")


class Stage(StageSettings):
    """A stage with the file's defaults applied: what provisioning works from."""

    name: str
    application: str
    platform: str
    region: str
    mail: Mail  # StageSettings requires it (with its own message)
    source: str = "eb_tools.yaml"  # the stage file it came from, as messages name it

    def wheelhouse_target(self) -> wheelhouse.Target | None:
        """The platform the stage's bundle carries wheels for; None when it carries the lock only."""
        if not self.bundle.wheelhouse:
            return None
        return wheelhouse.target_for(self.platform, (self.web.instance_type, self.worker.instance_type))


class Network(_Model):
    """An isolation group: one network shared by its stages (same account, region and NAT setting).
    `secrets_endpoint`: a stage of it rotates its database secret and there is no NAT, so the rotation function
    reaches Secrets Manager through an interface endpoint of the network (provision/network.py)."""

    name: str
    region: str
    nat: bool
    stages: tuple[str, ...]
    secrets_endpoint: bool = False


def _check_schedule(name: str, stage: StageSettings) -> None:
    """Production (the stage of that name, or its isolation group: StageTarget.is_production) sleeps only when
    the stage file says so outright."""
    schedule = stage.schedule
    if schedule is not None and not schedule.allow_production and PRODUCTION in (name, stage.isolation):
        raise Problem(("stages", name, "schedule"), schedule.awake,
                      f"refused for a production stage (named {PRODUCTION} or in its isolation group): outside "
                      "these hours its instances would be stopped; add allow_production: true to the schedule if "
                      "that is meant")


class StageFile(_Model):
    application: ApplicationName
    region: Region
    platform: Annotated[Text, Field(min_length=1)]
    stages: dict[Slug, StageSettings] = Field(min_length=1)
    _source: str = PrivateAttr(default="eb_tools.yaml")

    @model_validator(mode="after")
    def _stages_fit_together(self) -> StageFile:
        first_in_group: dict[str, str] = {}
        for name, stage in self.stages.items():
            region = stage.region or self.region
            if stage.domain:
                cert_region = _certificate_region(stage.domain.certificate_arn)
                if cert_region != region:
                    raise Problem(("stages", name, "domain", "certificate_arn"), stage.domain.certificate_arn,
                                  f"must be a certificate in the stage's region {region}, not {cert_region}")
            try:
                stage.check_scheme()
            except Problem as problem:
                raise Problem(("stages", name, *problem.key), problem.value, str(problem)) from None
            if stage.bundle.wheelhouse:
                try:
                    wheelhouse.target_for(self.platform, (stage.web.instance_type, stage.worker.instance_type))
                except ValueError as error:
                    raise Problem(("stages", name, "bundle", "wheelhouse"), True, str(error)) from None
            _check_schedule(name, stage)
            first = first_in_group.setdefault(stage.isolation, name)
            if first != name:
                self._check_shares_network(name, first)
        return self

    def _check_shares_network(self, name: str, first: str) -> None:
        stage, other = self.stages[name], self.stages[first]
        if PRODUCTION in (name, first):
            intruder = first if name == PRODUCTION else name
            raise Problem(("stages", intruder, "isolation"), stage.isolation,
                          f"must differ from {PRODUCTION}'s: {PRODUCTION} has an isolation group of its own")
        shared: dict[str, Callable[[StageSettings], object]] = {
            "region": lambda s: s.region or self.region,
            "account": lambda s: s.account,
            "nat": lambda s: s.nat,
        }
        for key, read in shared.items():
            if read(stage) != read(other):
                raise Problem(("stages", name, key), read(stage),
                              f"must equal {first}'s ({_show(read(other))}): stages of isolation group "
                              f"{stage.isolation} share one network")

    def stage(self, name: str) -> Stage:
        """The named stage with the file's defaults applied."""
        settings = self.stages.get(name)
        if settings is None:
            raise StageFileError(_line(self._source, ("stages", name), _MISSING,
                                       f"no such stage (defined: {', '.join(sorted(self.stages))})"))
        values = settings.model_dump(exclude={"region"})
        return Stage(**values, name=name, application=self.application, platform=self.platform,
                     region=settings.region or self.region, source=self._source)

    def network(self, group: str) -> Network:
        """The isolation group `group` and the stages that share its network."""
        members = tuple(name for name, stage in self.stages.items() if stage.isolation == group)
        if not members:
            groups = sorted({stage.isolation for stage in self.stages.values()})
            raise StageFileError(_line(self._source, ("isolation",), group,
                                       f"no stage has this isolation group (defined: {', '.join(groups)})"))
        first = self.stage(members[0])
        rotating = any(s.database is not None and s.database.rotates for s in map(self.stage, members))
        return Network(name=group, region=first.region, nat=first.nat, stages=members,
                       secrets_endpoint=rotating and not first.nat)


def load(path: Path) -> StageFile:
    """Read and validate the stage file; its problems are a StageFileError of one line each."""
    source = _display(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise StageFileError(f"{source}: not found (the stage file; see the README)") from None
    except OSError as exc:
        raise StageFileError(f"{source}: cannot read: {exc.strerror}") from None
    return parse(text, source)


def parse(text: str, source: str) -> StageFile:
    """Validate a stage file's text (`load`'s checks, for a file not written yet); `source` names it in errors."""
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise StageFileError(f"{source}: {where}malformed YAML: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise StageFileError(f"{source}: malformed YAML: {' '.join(str(exc).split())}") from None
    if not isinstance(data, dict):
        raise StageFileError(f"{source}: must be a mapping with application, region, platform and stages")
    try:
        stage_file = StageFile.model_validate(data)
    except ValidationError as exc:
        raise StageFileError(_problems(source, exc)) from None
    stage_file._source = source
    return stage_file


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML keeps the last of two equal keys; a stage file with two `production:` is an error instead."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[object] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


_MISSING = object()


def _problems(source: str, exc: ValidationError) -> str:
    """Every problem pydantic found, one line each with its key path (a line said twice, once)."""
    return "\n".join(dict.fromkeys(_problem(source, error) for error in exc.errors()))


def _problem(source: str, error: Mapping[str, Any]) -> str:
    loc = tuple(str(part) for part in error["loc"])
    value: object = error.get("input", _MISSING)
    cause = error.get("ctx", {}).get("error")
    if isinstance(cause, Problem):
        loc, value, message = loc + cause.key, cause.value, str(cause)
    elif loc and loc[-1] == "[key]":  # a mapping key (a stage name) failed its own check
        loc, value = loc[:-1], loc[-2]
        message = _message(error, loc)
    else:
        message = _message(error, loc)
        if error["type"] in ("missing", "model_type", "dict_type"):
            value = _MISSING
    return _line(source, loc, value, message)


def _message(error: Mapping[str, Any], loc: tuple[str, ...]) -> str:
    kind, ctx = error["type"], error.get("ctx", {})
    if kind == "value_error":
        return str(ctx["error"])
    if kind == "missing":
        return "required"
    if kind == "extra_forbidden":
        allowed = _keys_at(loc[:-1])
        return f"unknown key (allowed: {', '.join(allowed)})" if allowed else "unknown key"
    known = {
        "less_than_equal": lambda: f"must be at most {ctx['le']}",
        "greater_than_equal": lambda: f"must be at least {ctx['ge']}",
        "string_type": lambda: "must be a string (quote it in YAML)",
        "bool_parsing": lambda: "must be true or false",
        "bool_type": lambda: "must be true or false",
        "int_parsing": lambda: "must be a whole number",
        "int_type": lambda: "must be a whole number",
        "int_from_float": lambda: "must be a whole number",
        "model_type": lambda: "must be a mapping",
        "dict_type": lambda: "must be a mapping",
        "too_short": lambda: "must not be empty",
    }
    if kind in known:
        return known[kind]()
    return str(error["msg"]).replace("Input should be", "must be").replace("String should", "must")


def _keys_at(loc: tuple[str, ...]) -> list[str]:
    """The keys the model at `loc` accepts (for an unknown key's message)."""
    current: Any = StageFile
    for part in loc:
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(part)
            if field is None:
                return []
            current = _unwrap(field.annotation)
        elif get_origin(current) is dict:
            current = _unwrap(get_args(current)[1])
        else:
            return []
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [field.alias or name for name, field in current.model_fields.items()]
    return []


def _unwrap(annotation: Any) -> Any:
    """`X | None` and `Annotated[X, ...]` to X."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            annotation = next(arg for arg in get_args(annotation) if arg is not type(None))
        else:
            return annotation


def _line(source: str, loc: tuple[str, ...], value: object, message: str) -> str:
    parts = [source]
    if loc:
        parts.append(".".join(loc))
    if value is not _MISSING:
        parts.append(_show(value))
    parts.append(message)
    return ": ".join(parts)


def _show(value: object) -> str:
    """A value as it would read in the YAML file, on one short line."""
    if isinstance(value, str):
        return repr(value)
    text = json.dumps(value, default=str, separators=(", ", ": "))
    return text if len(text) <= 60 else text[:57] + "..."


def _certificate_region(arn: str) -> str:
    match = CERTIFICATE_ARN.fullmatch(arn)
    return match["region"] if match else ""


def _display(path: Path) -> str:
    """The path relative to the working folder when it is inside it, as the user would type it."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
