"""The emulated EB's records as plain data and back, so a second `eb_tools local` resumes the first.

`export` reads a backend's applications (their versions and saved configurations),
environments (ids, settings, instances, tags) and events into JSON-ready data;
`restore` puts them into a fresh backend (LocalCloud.export_records and
restore_records). eb_tools/local/state.py keeps the data in `.local/` and
restores it when the cloud has started and before anything else calls EB,
so `eb_tools provision` then finds the local stage's application and
environments, keeps their ids and only updates the settings that name this
run's stack resources; `eb events` shows the earlier runs' events.

An operation still running at export (a launch, a deployment, a termination) is
run to its end first, at the times its steps were due: as on AWS, where an
operation goes on while nobody watches. The records are encoded by their
dataclass fields, so a field added with a default reads older data; a record
that cannot be rebuilt is a StateError naming it. A worker queue EB made for an
environment (no WorkerQueueURL given) is made again, empty; the stage's queues
and their messages are state.py's.
"""
from __future__ import annotations

import dataclasses
import sys
import types
import typing
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from eb_tools.cloud.elasticbeanstalk import services
from eb_tools.cloud.elasticbeanstalk.entities import Application, Environment, Event
from eb_tools.cloud.elasticbeanstalk.models import LocalEBBackend
from eb_tools.cloud.moto_internals import BACKENDS
from eb_tools.errors import CloudError

RECORDS: dict[str, Any] = {"applications": dict[str, Application], "environments": dict[str, Environment],
                           "events": list[Event]}  # the backend's attributes kept, with their types
TRANSIENT = {"clock", "lock", "region_name", "account_id", "partition",  # the backend's attributes not kept
             "log_files",  # published anew by each run
             "served_by", "_bundles"}  # the cloud that restores the records serves them; parsed anew
SETTLED = ("Ready", "Terminated")
MAX_STEPS = 10_000  # transitions run at export before giving up on an operation that never ends
DATE, PAIRS = "$date", "$pairs"  # a datetime; a dict whose keys are not strings (settings by namespace, option)


class StateError(CloudError):
    """Saved EB records that this eb_tools cannot rebuild."""


def export(backend: LocalEBBackend) -> dict[str, Any]:
    """The backend's records as JSON-ready data, every operation run to its end first."""
    with BACKENDS, backend.lock:  # as a request holds them: the operations' steps reach S3 and SQS
        _finish_operations(backend)
        return {name: _encode(getattr(backend, name)) for name in RECORDS}


def restore(backend: LocalEBBackend, data: dict[str, Any]) -> None:
    """Put exported records into `backend`, which must hold none yet."""
    records = {name: _decode(kind, data.get(name, kind.__origin__()), name) for name, kind in RECORDS.items()}
    with BACKENDS, backend.lock:
        if any(getattr(backend, name) for name in RECORDS):
            raise StateError("the local cloud's Elastic Beanstalk already has records; restore into a fresh one")
        for name, value in records.items():
            setattr(backend, name, value)
        for env in backend.environments.values():
            if env.status not in SETTLED:  # only after an export that gave up: it ends where it stood
                env.status, env.operation = ("Terminated" if env.status == "Terminating" else "Ready"), None
            if env.queue_url and env.status != "Terminated" and \
                    env.queue_url.endswith(f"/awseb-{env.id}-stack-AWSEBWorkerQueue"):
                services.make_worker_queue(backend.account_id, backend.region_name, env.queue_url.rsplit("/", 1)[1])


def _finish_operations(backend: LocalEBBackend) -> None:
    """Run the clock forward, one transition at a time, until nothing is scheduled; the steps' events carry
    the times they were due. The clock's `now` is its one source of time."""
    clock, moment = backend.clock, backend.clock.now()
    step = timedelta(seconds=max(backend.transition_seconds, 0.001))
    try:
        for _ in range(MAX_STEPS):
            if clock.idle:
                return
            moment += step
            clock.now = _fixed(moment)  # type: ignore[method-assign]
            clock.advance()
    finally:
        vars(clock).pop("now", None)


def _fixed(moment: datetime) -> Callable[[], datetime]:
    return lambda: moment


def _encode(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {field.name: _encode(getattr(value, field.name)) for field in dataclasses.fields(value)}
    if isinstance(value, datetime):
        return {DATE: value.isoformat()}
    if isinstance(value, dict):
        if all(isinstance(key, str) for key in value):
            return {key: _encode(item) for key, item in value.items()}
        return {PAIRS: [[_encode(key), _encode(item)] for key, item in value.items()]}
    if isinstance(value, (list, tuple)):
        return [_encode(item) for item in value]
    return value


def _decode(kind: Any, data: Any, where: str) -> Any:
    """`data` as a value of type `kind` (a type hint of the records' dataclasses)."""
    origin, arguments = typing.get_origin(kind), typing.get_args(kind)
    if data is None:
        return None
    if kind in (Any, object):
        return _untyped(data)
    if origin in (typing.Union, types.UnionType):
        options = [argument for argument in arguments if argument is not type(None)]
        return _decode(options[0], data, where) if len(options) == 1 else _untyped(data)
    if dataclasses.is_dataclass(kind) and isinstance(kind, type):
        return _record(kind, data, where)
    if kind is datetime:
        return datetime.fromisoformat(data[DATE])
    if origin is list:
        return [_decode(arguments[0], item, f"{where}[{index}]") for index, item in enumerate(data)]
    if origin is tuple:
        return tuple(_decode(arguments[0] if arguments[-1] is Ellipsis else arguments[index], item, where)
                     for index, item in enumerate(data))
    if origin is dict:
        pairs = data[PAIRS] if PAIRS in data else data.items()
        return {_decode(arguments[0], key, where): _decode(arguments[1], item, f"{where}.{key}") for key, item in pairs}
    return data


def _untyped(data: Any) -> Any:
    """A value whose type the records do not declare (option values, environment info entries)."""
    if isinstance(data, list):
        return [_untyped(item) for item in data]
    if isinstance(data, dict):
        if DATE in data:
            return datetime.fromisoformat(data[DATE])
        if PAIRS in data:
            return {tuple(key) if isinstance(key, list) else key: _untyped(item) for key, item in data[PAIRS]}
        return {key: _untyped(item) for key, item in data.items()}
    return data


def _record(kind: type, data: dict[str, Any], where: str) -> Any:
    hints, fields = typing.get_type_hints(kind, vars(sys.modules[kind.__module__])), dataclasses.fields(kind)
    values = {field.name: _decode(hints[field.name], data[field.name], f"{where}.{field.name}")
              for field in fields if field.name in data}
    try:
        record = kind(**{field.name: values[field.name] for field in fields if field.init and field.name in values})
    except TypeError as error:
        raise StateError(f"{where}: a saved {kind.__name__} this eb_tools cannot rebuild ({error})") from None
    for field in fields:
        if not field.init and field.name in values:
            object.__setattr__(record, field.name, values[field.name])
    return record
