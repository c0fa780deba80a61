"""The Elastic Beanstalk emulation: an extension of moto's EB service, registered on its server.

models.py holds the state and behaviour, responses.py the wire format,
registration.py installs them on moto's server (moto's models/responses/urls split).
"""
from __future__ import annotations

from eb_tools.cloud.elasticbeanstalk.models import LocalEBBackend
from eb_tools.cloud.elasticbeanstalk.registration import register

__all__ = ["register", "LocalEBBackend"]
