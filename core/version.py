"""The application version this instance runs, as Elastic Beanstalk's platform records it.

EB gives the app no environment variable with its version label, but the Amazon Linux 2 and 2023 platforms
write the version they deploy to /opt/elasticbeanstalk/deployment/app_version_manifest.json before the app
starts: {"RuntimeSources": {"<application>": {"<label>": {"s3url": ...}}}, "DeploymentId": n, "Serial": n}
(the file as users show it, aws/elastic-beanstalk-roadmap#75). The emulated cloud's instances write the same
file, so /healthz names the label there and on EB alike; without the file (tests, a process started by
hand) or when it cannot be read, there is no label.
"""
from __future__ import annotations

import json
from pathlib import Path

MANIFEST = Path("/opt/elasticbeanstalk/deployment/app_version_manifest.json")


def running_label(manifest: Path = MANIFEST) -> str | None:
    """The version label of the manifest's one runtime source; None when there is no readable manifest."""
    try:
        sources = json.loads(manifest.read_text())["RuntimeSources"]
        labels = [label for versions in sources.values() for label in versions]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return labels[0] if len(labels) == 1 else None
