"""The instances of the emulated Elastic Beanstalk: each a real process group on this machine, running one
application version as the EB Python platform on Amazon Linux 2023 runs it.

A deployment extracts the bundle to the instance's /var/app/staging, runs the .ebextensions commands and the
.platform hooks in EB's order, installs requirements.txt into a virtualenv kept by its digest, moves the app to
/var/app/current, starts the Procfile's web process (and, on a web instance, an nginx of its own in front with
the bundle's .platform/nginx files) and waits for /healthz (engine.py). The instance sees EB's absolute paths
through a mount namespace per process (namespace.py). The EB emulation calls InstanceRuntime: deploy() returns
a Job at once, which a step polls and which ends healthy or failed with EB's words (jobs.py); health(),
address() and stop() answer for one instance.
"""
from eb_tools.cloud.instances.jobs import Failure, Health, Job
from eb_tools.cloud.instances.runtime import InstanceRuntime

__all__ = ["Failure", "Health", "InstanceRuntime", "Job"]
