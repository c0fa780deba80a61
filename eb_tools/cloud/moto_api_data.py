"""moto's dashboard data (/moto-api/data.json), readable whatever the local cloud holds.

The README sends users to moto's dashboard to read the mail the worker sent. moto builds its data by reading
every public attribute of every model instance and skips those that fail with TypeError, AttributeError or
ValueError; RDS's DBInstance has properties that raise NotImplementedError ("write only property", "Password is
not retrievable."), so a single database made the whole page a 500. Here any attribute that cannot be read or
written as JSON is left out, and the rest is as moto shows it.
"""
from __future__ import annotations

import json
from typing import Any

from eb_tools.cloud.moto_internals import TYPE_RESPONSE, MotoAPIResponse, model_data, once, replace


def register() -> None:
    """Install the tolerant data view on moto's API (once per process)."""
    once("moto_api_data", lambda: replace(MotoAPIResponse, "model_data", _model_data))


def _readable(instance: object) -> dict[str, Any]:
    found = {}
    for attr in dir(instance):
        if attr.startswith("_"):
            continue
        try:
            value = getattr(instance, attr)
            json.dumps(value)
        except Exception:  # noqa: BLE001 - moto's models raise anything from a property; leave the attribute out
            continue
        found[attr] = value
    return found


def _model_data(self: MotoAPIResponse, request: Any, full_url: str, headers: Any) -> TYPE_RESPONSE:
    # moto's model classes get `instances_tracked` from their metaclass.
    results = {service: {name: [_readable(instance) for instance in getattr(models[name], "instances_tracked", [])]
                         for name in sorted(models)}
               for service, models in sorted(model_data.items())}
    return 200, {"Content-Type": "application/javascript"}, json.dumps(results)
