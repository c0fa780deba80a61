"""Application logging: one line per record on stderr, which EB streams to CloudWatch Logs.

gunicorn configures only its own loggers; without this, the apps' INFO records
(an upload completed, a task rejected and why) would never be written.
"""
from __future__ import annotations

import logging

FORMAT = "%(asctime)s [%(process)d] [%(levelname)s] %(name)s: %(message)s"
NOISY = ("botocore", "boto3", "urllib3", "s3transfer")  # their INFO lines are about credentials and pools


def configure(level: str) -> None:
    root = logging.getLogger()
    if not root.handlers:  # a test runner or a host that set up logging keeps its own
        logging.basicConfig(level=level, format=FORMAT)
    for name in NOISY:
        logging.getLogger(name).setLevel(logging.WARNING)
