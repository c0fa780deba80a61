"""JSON bodies parsed so that a hostile one is a 400, never a 500.

Python's json parser recurses once per nesting level: 60 KB of `[` (30,000 levels)
raises RecursionError, which neither Flask's get_json nor Flask-WTF nor a view
expects from a parser. Installed as the app's JSON provider, this one turns it into
the ValueError every caller already handles as a malformed body.
"""
from __future__ import annotations

from typing import Any

from flask.json.provider import DefaultJSONProvider


class BoundedJSONProvider(DefaultJSONProvider):
    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("it is nested deeper than the parser allows") from None
