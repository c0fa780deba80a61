"""What a promote carries from one stage to the next, compared on both sides (issue: "promote compares what
matters"): the bundle's bytes, the lock inside it, and the platform version each tier runs on.

A label fixes the code and, through the lock (requirements.txt with hashes), the dependencies; it does not fix
the platform: two stages provisioned months apart can run other platform versions (another Python patch
release, another nginx), so what was tested is not quite what runs. The promote plan shows the fingerprint and
warns, one line each, where the two sides differ.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from eb_tools.release import versions
from eb_tools.stage import ebenv
from eb_tools.stage.target import StageTarget

LOCK = "requirements.txt"


@dataclass(frozen=True)
class Fingerprint:
    stage: str
    bundle: str | None  # sha256 of the version's bundle in the stage's application; None: not registered there
    lock: str | None  # sha256 of the bundle's requirements.txt; None: no bundle, or none in it
    platforms: dict[str, str]  # tier -> the platform ARN its environment runs on
    stored: versions.Stored | None = None  # where the bundle lies (EB's storage bucket names its account)
    data: bytes | None = field(default=None, repr=False, compare=False)  # its bytes, when this read them

    def line(self) -> str:
        platforms = sorted(set(self.platforms.values()))
        return (f"bundle sha256 {_short(self.bundle)}, lock sha256 {_short(self.lock)}, platform "
                f"{', '.join(platform_name(p) for p in platforms) or '-'}")


def read(where: StageTarget, label: str, environments: dict[str, str], known: Fingerprint | None = None) -> Fingerprint:
    """The fingerprint of `label` in `where`'s application and of its `environments` ({tier: name}). A bundle
    lying where `known`'s does (stages sharing one application) is not read again."""
    stored = versions.find(where, label)
    described = ebenv.describe(where.client("elasticbeanstalk"), where.application, list(environments.values()))
    platforms = {tier: str(described[name].get("PlatformArn", "")) for tier, name in environments.items()
                 if name in described}
    if known is not None and stored is not None and stored == known.stored:
        return Fingerprint(where.name, known.bundle, known.lock, platforms, stored)
    data = versions.read_bundle(where, stored) if stored else None
    return of_bundle(where.name, data, platforms, stored)


def of_bundle(stage: str, data: bytes | None, platforms: dict[str, str],
              stored: versions.Stored | None = None) -> Fingerprint:
    """The fingerprint of a bundle already read (`data`; None: none registered, or its object gone)."""
    return Fingerprint(stage, hashlib.sha256(data).hexdigest() if data is not None else None, _lock(data),
                       platforms, stored, data)


def warnings(source: Fingerprint, destination: Fingerprint) -> list[str]:
    """Where `destination` will not run what `source` tested, one line each. A bundle the destination lacks is
    copied byte for byte (and verified), so only one it holds already can differ."""
    found = []
    if destination.bundle is not None and destination.bundle != source.bundle:
        found.append(f"stage {destination.stage} holds other bytes under this label than stage {source.stage} "
                     f"(sha256 {_short(destination.bundle)} against {_short(source.bundle)})")
    elif destination.bundle is not None and destination.lock != source.lock:
        found.append(f"the lock differs: {_short(destination.lock)} on stage {destination.stage}, "
                     f"{_short(source.lock)} on stage {source.stage}")
    for tier in sorted(source.platforms.keys() & destination.platforms.keys()):
        tested, runs = source.platforms[tier], destination.platforms[tier]
        if tested != runs:
            found.append(f"{tier} runs platform {platform_name(runs)} on stage {destination.stage}, but "
                         f"{platform_name(tested)} on stage {source.stage}, where the label was tested; update the "
                         "platform of one of them (eb_tools provision, or the console's platform update)")
    return found


def _lock(data: bytes | None) -> str | None:
    lock = versions.member(data, LOCK) if data is not None else None
    return hashlib.sha256(lock).hexdigest() if lock is not None else None


def _short(digest: str | None) -> str:
    return digest[:12] if digest else "-"


def platform_name(arn: str) -> str:
    """"Python 3.11 running on 64bit Amazon Linux 2023/4.6.0" from the platform's ARN."""
    return arn.split(":platform/", 1)[-1] if arn else "-"
