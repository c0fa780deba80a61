"""A bundle's wheelhouse (`eb_tools bundle --stage` for a stage with `bundle: {wheelhouse: true}`, or one made
by hand): requirements.txt installs from a folder of the bundle (`--find-links`), so every line of the lock that
pip installs on the platform needs its wheel there, and a wheel for another platform (architecture, Python
version, newer glibc) is skipped by pip there, which then fails the install on every instance.

The platform is the one requirements.txt names on its `# eb_tools wheelhouse:` line (eb_tools/wheelhouse.py
writes it, and explains how pip reads those options). Source: EB developer guide, "Specifying dependencies using
a requirements file"; pip's "Requirements File Format".
"""
from __future__ import annotations

from collections.abc import Iterator

from eb_tools import wheelhouse
from eb_tools.check.context import CheckContext
from eb_tools.check.findings import GUIDE, Finding, Rule
from eb_tools.errors import BundleError
from eb_tools.formats import requirements

SOURCE = f"{GUIDE}python-configuration-requirements.html"
E708 = Rule("E708", "wheelhouse misses a requirement", SOURCE)
E709 = Rule("E709", "wheel for another platform in the wheelhouse", SOURCE)
N710 = Rule("N710", "wheelhouse whose platform is not named", SOURCE)
RULES = (E708, E709, N710)
FILE = "requirements.txt"
REBUILD = "build the bundle for the stage it goes to: eb_tools bundle --stage STAGE (eb_tools deploy STAGE does)"


def check(context: CheckContext) -> Iterator[Finding]:
    if FILE not in context.files:
        return
    text = context.text(FILE)
    folders = [f.strip("/") for f in requirements.parse(text).find_links() if "://" not in f]
    wheels = [w for folder in folders for w in context.matching(f"{folder}/", ".whl")]
    if not wheels:
        return
    declared = wheelhouse.declared(text)
    if declared is None:
        yield Finding(FILE, None, N710, f"requirements.txt installs from {', '.join(folders)}/ but names no "
                      "platform on a '# eb_tools wheelhouse: cp311-manylinux_2_34_x86_64' line: its wheels were "
                      "not checked", REBUILD)
        return
    lock, target = declared
    for wheel in wheels:
        if not target.fits(wheel.rsplit("/", 1)[-1]):
            yield Finding(wheel, None, E709, f"{wheel} does not run on {target.name}, the platform requirements.txt "
                          "names: pip skips it there and the install fails", REBUILD)
    try:
        pins = wheelhouse.needed(lock, target)
    except BundleError:
        return  # a lock pip cannot take: the requirements rules say where
    found = wheelhouse.matching(pins, target, [context.root / wheel for wheel in wheels])
    for pin in pins:
        if pin.key not in found:
            yield Finding(FILE, pin.line, E708, f"{pin.name}=={pin.version} has no wheel for {target.name} in "
                          f"{', '.join(folders)}/ matching its hashes: pip, with no index, fails on every instance",
                          REBUILD)
