"""CloudWatch Logs filter patterns as FilterLogEvents applies them.

moto matches a pattern that starts with a letter or a quote as words or a phrase found in the message, and
matches every event for anything else: a JSON pattern (`{ $.trace_id = "..." }`) returned every line of the
group. Here, as the CloudWatch Logs guide's "Filter pattern syntax" describes:
- terms: every unquoted word and "quoted phrase" must be in the message (case sensitive), a `-term` must not,
  and when there are `?term`s, one of them is enough; `%regex%` matches the message against the expression;
- JSON patterns, `{ SELECTOR OP VALUE }` joined by `&&` and `||` with parentheses: a selector `$.a.b[0]` into the
  message parsed as JSON (a message that is not a JSON object matches no JSON pattern, nor does a missing field),
  `=` and `!=` with a string (quoted, or a bare word; `*` a wildcard), a number, `true`, `false` or `null`, and
  `<`, `<=`, `>`, `>=` with numbers; `SELECTOR IS NULL`, `IS TRUE`, `IS FALSE`, `NOT EXISTS`, `EXISTS`.
A malformed pattern is refused with InvalidParameterException ("If a filter pattern starts with '{' it must end
with '}'", "Invalid filter pattern", AWS's texts as users report them: jorgebastida/awslogs#210,
aws/aws-toolkit-jetbrains#3219); space-delimited patterns (`[ip, user, ...]`) are not emulated and refused
saying so. FilterLogEvents' `interleaved` is ignored, as AWS ignores it (API reference: "Starting on June 17,
2019, this parameter will be ignored and the value will be assumed to be true"): events are interleaved.
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from eb_tools.cloud.moto_internals import LogsBackend, LogsInvalidParameter, logs_models, once, replace

Matcher = Callable[[str], bool]
TOKEN = re.compile(r'\s*(\$\.[A-Za-z0-9_$.\[\]*-]*|"(?:[^"\\]|\\.)*"|&&|\|\||<=|>=|!=|=|<|>|\(|\)|[^\s()=!<>&|"]+)')
SELECTOR_PART = re.compile(r"\.([A-Za-z0-9_$-]+)|\[(\d+)\]")
NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?$")
LITERALS = {"true": True, "false": False, "null": None}
_MISSING = object()


class PatternError(ValueError):
    """A pattern FilterLogEvents refuses; the text is AWS's."""


def register() -> None:
    once("logs_filter_patterns", _install)


def _install() -> None:
    replace(logs_models, "EventMessageFilter", EventFilter)
    replace(LogsBackend, "filter_log_events", _checked(LogsBackend.filter_log_events))


def _checked(filter_log_events: Callable[..., Any]) -> Callable[..., Any]:
    def checked(backend: Any, log_group_name: str, log_stream_names: list[str], start_time: int, end_time: int,
                limit: int | None, next_token: str | None, filter_pattern: str, interleaved: bool) -> Any:
        try:
            compiled(filter_pattern or "")
        except PatternError as error:
            raise LogsInvalidParameter(str(error)) from None
        return filter_log_events(backend, log_group_name, log_stream_names, start_time, end_time, limit, next_token,
                                 filter_pattern, True)

    return checked


class EventFilter:
    """moto's EventMessageFilter's interface over a compiled pattern."""

    def __init__(self, pattern: str | None) -> None:
        self.matches: Matcher = compiled(pattern or "")


@lru_cache(maxsize=256)
def compiled(pattern: str) -> Matcher:
    """The matcher of a filter pattern; PatternError when FilterLogEvents would refuse it."""
    text = pattern.strip()
    if not text:
        return lambda message: True
    if text.startswith("{"):
        if not text.endswith("}"):
            raise PatternError("If a filter pattern starts with '{' it must end with '}'")
        return _json_matcher(_Parser(text[1:-1]).expression_to_end())
    if text.startswith("["):
        raise PatternError("Invalid filter pattern (the local cloud does not emulate space-delimited patterns)")
    return _terms(text)


def _terms(text: str) -> Matcher:
    if len(text) > 2 and text.startswith("%") and text.endswith("%"):
        try:
            expression = re.compile(text[1:-1])
        except re.error:
            raise PatternError("Invalid filter pattern") from None
        return lambda message: expression.search(message) is not None
    terms = re.findall(r'[-?]?"(?:[^"\\]|\\.)*"|\S+', text)
    required: list[str] = []
    excluded: list[str] = []
    any_of: list[str] = []
    for term in terms:
        kind, word = (term[0], term[1:]) if term[0] in "-?" and len(term) > 1 else ("", term)
        if word.startswith('"'):
            if len(word) < 2 or not word.endswith('"'):
                raise PatternError("Invalid filter pattern")
            word = _unquoted(word)
        elif '"' in word:
            raise PatternError("Invalid filter pattern")
        {"": required, "-": excluded, "?": any_of}[kind].append(word)
    return lambda message: (all(w in message for w in required) and not any(w in message for w in excluded)
                            and (not any_of or any(w in message for w in any_of)))


Condition = Callable[[Any], bool]


class _Parser:
    """A JSON pattern's body: or := and ('||' and)*; and := primary ('&&' primary)*; primary := '(' or ')' |
    selector comparison."""

    def __init__(self, body: str) -> None:
        self.tokens, self.at, position = [], 0, 0
        while body[position:].strip():
            found = TOKEN.match(body, position)
            if not found:
                raise PatternError("Invalid filter pattern")
            self.tokens.append(found.group(1))
            position = found.end()

    def expression_to_end(self) -> Condition:
        condition = self._or()
        if self.at != len(self.tokens):
            raise PatternError("Invalid filter pattern")
        return condition

    def _peek(self) -> str | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def _take(self) -> str:
        token = self._peek()
        if token is None:
            raise PatternError("Invalid filter pattern")
        self.at += 1
        return token

    def _or(self) -> Condition:
        parts = [self._and()]
        while self._peek() == "||":
            self._take()
            parts.append(self._and())
        return parts[0] if len(parts) == 1 else (lambda doc: any(part(doc) for part in parts))

    def _and(self) -> Condition:
        parts = [self._primary()]
        while self._peek() == "&&":
            self._take()
            parts.append(self._primary())
        return parts[0] if len(parts) == 1 else (lambda doc: all(part(doc) for part in parts))

    def _primary(self) -> Condition:
        token = self._take()
        if token == "(":
            inner = self._or()
            if self._take() != ")":
                raise PatternError("Invalid filter pattern")
            return inner
        if not token.startswith("$."):
            raise PatternError("Invalid filter pattern")
        return self._comparison(_selector(token))

    def _comparison(self, select: Callable[[Any], Any]) -> Condition:
        operator = self._take()
        if operator in ("IS", "NOT", "EXISTS"):
            return self._keyword(select, operator)
        if operator not in ("=", "!=", "<", "<=", ">", ">="):
            raise PatternError("Invalid filter pattern")
        compare = _comparison(operator, self._take())
        return lambda doc: (value := select(doc)) is not _MISSING and compare(value)

    def _keyword(self, select: Callable[[Any], Any], first: str) -> Condition:
        if first == "EXISTS":
            return lambda doc: select(doc) is not _MISSING
        word = self._take()
        if first == "NOT" and word == "EXISTS":
            return lambda doc: select(doc) is _MISSING
        constants = {"NULL": None, "TRUE": True, "FALSE": False}
        if first != "IS" or word not in constants:
            raise PatternError("Invalid filter pattern")
        wanted = constants[word]
        return lambda doc: (value := select(doc)) is not _MISSING and value is wanted


def _selector(text: str) -> Callable[[Any], Any]:
    parts = SELECTOR_PART.findall(text[1:])
    if "".join(f".{name}" if name else f"[{index}]" for name, index in parts) != text[1:]:
        raise PatternError("Invalid filter pattern")

    def select(doc: Any) -> Any:
        for name, index in parts:
            if name and isinstance(doc, dict) and name in doc:
                doc = doc[name]
            elif index and isinstance(doc, list) and int(index) < len(doc):
                doc = doc[int(index)]
            else:
                return _MISSING
        return doc

    return select


def _comparison(operator: str, raw: str) -> Callable[[Any], bool]:
    """How a field's value compares with the pattern's `raw` value under `operator`."""
    quoted = raw.startswith('"')
    if not quoted and NUMBER.match(raw):
        return _numeric(operator, float(raw))
    if operator not in ("=", "!="):
        raise PatternError("Invalid filter pattern")
    equal = _constant(LITERALS[raw]) if not quoted and raw in LITERALS else _wildcard(_unquoted(raw))
    return equal if operator == "=" else (lambda value: not equal(value))


def _numeric(operator: str, number: float) -> Callable[[Any], bool]:
    ordered = {"=": number.__eq__, "!=": number.__ne__, "<": number.__gt__, "<=": number.__ge__,
               ">": number.__lt__, ">=": number.__le__}[operator]
    return lambda value: _is_number(value) and ordered(float(value))


def _constant(wanted: bool | None) -> Callable[[Any], bool]:
    return lambda value: value is wanted


def _wildcard(text: str) -> Callable[[Any], bool]:
    """A string equal to `text`, where each `*` stands for any characters."""
    pattern = re.compile(".*".join(map(re.escape, text.split("*"))) + r"\Z", re.DOTALL)
    return lambda value: isinstance(value, str) and pattern.match(value) is not None


def _unquoted(token: str) -> str:
    if not token.startswith('"'):
        return token
    try:
        return str(json.loads(token))
    except ValueError:
        raise PatternError("Invalid filter pattern") from None


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _json_matcher(condition: Condition) -> Matcher:
    def matches(message: str) -> bool:
        try:
            document = json.loads(message)
        except ValueError:
            return False
        return isinstance(document, dict) and condition(document)

    return matches
