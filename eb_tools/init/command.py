"""`eb_tools init`: ask for what no option gave, fill the template, prove the text with the stage-file loader,
then write it; an existing file stays unless --force, and nothing is written when a value is refused.

The questions take their defaults from what is already known (the folder's name, AWS_REGION, the stage's
domain); `ask` None (--yes) takes those defaults and refuses, naming the option, where there is none: an
address or an account is never made up.
"""
from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from eb_tools import stage_file
from eb_tools.errors import EbToolsError, StageFileError
from eb_tools.init.template import LOCAL, FileValues, StageValues, render

# ask(question, default or None for none, check) -> the answer check accepted; check raises ValueError.
Ask = Callable[[str, str | None, Callable[[str], str]], str]
Echo = Callable[[str], None]
DEFAULT_STAGES = "local,staging,production"
DEFAULT_REGION = "eu-west-1"


@dataclass(frozen=True)
class Given:
    """The options given on the command line; None for those not given."""

    application: str | None = None
    region: str | None = None
    stages: str | None = None
    alarm_email: str | None = None
    mail_from: str | None = None
    domain: str | None = None
    account: str | None = None


def init(path: Path, given: Given, ask: Ask | None, echo: Echo, force: bool = False) -> None:
    """Write the stage file at `path` (see the module docstring)."""
    source = str(path)
    if path.exists() and not force:
        raise EbToolsError(f"{source}: already exists; nothing written (eb_tools init --force replaces it)")
    values = _Questions(given, ask).file_values(path.resolve().parent.name)
    text = render(values)
    try:
        stage_file.parse(text, source)
    except StageFileError as error:
        raise StageFileError(f"{error}; nothing written") from None
    _write(path, text, source)
    for line in _summary(source, values):
        echo(line)


class _Questions:
    """Each value from its option, else its answer (or its default with --yes), checked as the model checks it."""

    def __init__(self, given: Given, ask: Ask | None) -> None:
        self.given, self.ask = given, ask

    def file_values(self, folder: str) -> FileValues:
        given = self.given
        application = self.value(given.application, "--application", "Application name (names the EB "
                                 "application, stacks and buckets)", _folder_slug(folder),
                                 _of(stage_file.ApplicationName))
        region = self.value(given.region, "--region", "AWS region",
                            os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION,
                            _of(stage_file.Region))
        names = self.value(given.stages, "--stages", "Stages, comma-separated (local runs on this machine)",
                           DEFAULT_STAGES, _stage_names).split(",")
        account = self.value(given.account, "--account", "AWS account id of the stages (empty: not checked)", "",
                             _of(stage_file.Account, optional=True))
        alarm = self.value(given.alarm_email, "--alarm-email", "Address the stages' alarms are mailed to", None,
                           _of(stage_file.Email))
        base = "" if given.domain is None else self.option(given.domain, "--domain", _of(stage_file.DomainName))
        stages = [self.stage(name, region, base) for name in names if name != LOCAL]
        owned = {domain.lower() for domain in {base} | {stage.domain for stage in stages} if domain}
        by_name = {stage.name: _with_identity(stage, owned) for stage in stages}
        local = StageValues(name=LOCAL, mail_from=f"no-reply@{application}.test", mail_identity="address")
        return FileValues(application=application, region=region, account=account, alarm_email=alarm,
                          stages=tuple(by_name.get(name, local) for name in names))

    def stage(self, name: str, region: str, base: str) -> StageValues:
        """A stage's domain, certificate and sender; --domain names production's host and STAGE.DOMAIN the others'."""
        derived = (base if name == stage_file.PRODUCTION else f"{name}.{base}") if base else None
        domain = self.value(derived, "--domain", f"Domain of stage {name} (empty: none, plain http at its EB "
                            "address)", "", _of(stage_file.DomainName, optional=True))
        certificate = ""
        if domain and self.ask is not None:
            certificate = self.ask(f"ACM certificate ARN for {domain} in {region} (empty: none yet, HTTPS waits "
                                   "for it)", "", _of(stage_file.CertificateArn, optional=True))
        sender = self.value(self.given.mail_from, "--mail-from", f"Address stage {name}'s mail comes from",
                            f"no-reply@{domain}" if domain else None, _of(stage_file.Email))
        return StageValues(name=name, mail_from=sender, mail_identity="address", domain=domain,
                           certificate_arn=certificate)

    def value(self, given: str | None, option: str, question: str, default: str | None,
              check: Callable[[str], str]) -> str:
        """The option's value, else the answer to `question` (with --yes, its default)."""
        if given is not None:
            return self.option(given, option, check)
        if self.ask is not None:
            return self.ask(question, default, check)
        if default is None:
            raise EbToolsError(f"eb_tools init --yes: give {option} ({question[0].lower()}{question[1:]}: there "
                               "is no default to take); nothing written")
        return self.option(default, option, check)

    @staticmethod
    def option(value: str, option: str, check: Callable[[str], str]) -> str:
        try:
            return check(value)
        except ValueError as error:
            raise EbToolsError(f"{option} {value!r}: {error}; nothing written") from None


def _of(kind: Any, optional: bool = False) -> Callable[[str], str]:
    """A check of one answer by the stage file's own type for it: the value, stripped, or ValueError(why)."""
    adapter: TypeAdapter[Any] = TypeAdapter(kind)

    def check(value: str) -> str:
        value = value.strip()
        if not value and optional:
            return ""
        try:
            adapter.validate_python(value)
        except ValidationError as error:
            first = error.errors()[0]
            raise ValueError(str(first.get("ctx", {}).get("error") or first["msg"])) from None
        return value

    return check


def _stage_names(text: str) -> str:
    """Comma-separated stage names, each a stage file's stage key, none twice: the list, without spaces."""
    names = [name.strip() for name in text.split(",")]
    slug = _of(stage_file.Slug)
    for name in names:
        try:
            slug(name)
        except ValueError as error:
            raise ValueError(f"stage {name!r} {error}") from None
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise ValueError(f"{', '.join(twice)} given twice")
    return ",".join(names)


def _folder_slug(folder: str) -> str | None:
    """The folder's name as an application name (lowercase, hyphens), when it makes one."""
    slug = re.sub(r"[^a-z0-9]+", "-", folder.lower()).strip("-")[:30].rstrip("-")
    return slug if re.fullmatch(r"[a-z][a-z0-9-]*[a-z0-9]", slug) else None


def _with_identity(stage: StageValues, owned: set[str]) -> StageValues:
    """A sender at a domain the user named (`owned`, lowercase) is verified as a domain (DKIM records, then any
    address of it); any other as the address itself, which SES mails a link to follow."""
    at = stage.mail_from.rsplit("@", 1)[1].lower()
    identity = "domain" if at in owned else "address"
    return replace(stage, mail_identity=identity)


def _write(path: Path, text: str, source: str) -> None:
    """All of the file or none of it: written beside, then moved over."""
    draft = path.with_name(f".{path.name}.init")
    try:
        draft.write_text(text, encoding="utf-8")
        os.replace(draft, path)
    except OSError as error:
        draft.unlink(missing_ok=True)
        raise EbToolsError(f"{source}: cannot write: {error.strerror}; nothing written") from None


def _summary(source: str, values: FileValues) -> list[str]:
    names = [stage.name for stage in values.stages]
    lines = [f"wrote {source}: application {values.application}, region {values.region}, stages "
             f"{', '.join(names)}"]
    for stage in values.stages:
        if stage.name == LOCAL:
            lines.append(f"  {LOCAL}: runs on this machine (eb_tools local, make up)")
        elif not stage.domain:
            lines.append(f"  {stage.name}: plain http at its EB address (no domain); mail from {stage.mail_from}")
        elif not stage.certificate_arn:
            lines.append(f"  {stage.name}: plain http until {stage.domain} has a certificate: request it in ACM "
                         f"({values.region}), then set its domain block in {source}; mail from {stage.mail_from}")
        else:
            lines.append(f"  {stage.name}: https://{stage.domain}; mail from {stage.mail_from}")
    if LOCAL not in names:
        lines.append(f"no {LOCAL} stage: eb_tools local and make up run the stage named {LOCAL}")
    first = next((name for name in names if name != LOCAL), None)
    if first:
        lines.append(f"next: eb_tools provision {first} --dry-run")
    return lines
