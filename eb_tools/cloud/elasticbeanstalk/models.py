"""State and behaviour of the emulated Elastic Beanstalk (moto's models.py): LocalEBBackend, composed of
one mixin per concern, each in its module, one method per operation.

Environments change state on a simulated clock (clock.py): an operation runs
in steps (a launch, a deployment batch, a rollback), each a transition (the
serving cloud's EmulationSettings.transition_seconds) after the one before,
and every API operation first applies what is due, emitting the events EB
emits (the texts the eb CLI waits for). Nothing happens that no operation
started: a failed deployment stays failed until the next one.

- backend_core: the records, the clock, events, lookups and an environment's options;
- platform_operations: the platforms EB offers;
- versions: application versions and EB's storage bucket;
- lifecycle: applications, and environments created, terminated, rebuilt or restored, their CNAMEs swapped;
- steps: how long operations run on the clock, and what they do to instances;
- deployments: UpdateEnvironment (in place, to new instances, settings alone), aborts and rollbacks;
- saved_configs: configuration templates and their files in the storage bucket;
- configuration: an environment's settings and options, and their validation;
- health_reports: enhanced health as the API reads it, and its transitions as events;
- instance_logs: Request- and RetrieveEnvironmentInfo;
- events_tags: DescribeEvents, and the environments' tags.
"""
from __future__ import annotations

from moto.core.base_backend import BackendDict

from eb_tools.cloud.elasticbeanstalk.configuration import ConfigurationQueries
from eb_tools.cloud.elasticbeanstalk.deployments import Deployments
from eb_tools.cloud.elasticbeanstalk.events_tags import EventsAndTags
from eb_tools.cloud.elasticbeanstalk.instance_logs import InstanceLogs
from eb_tools.cloud.elasticbeanstalk.lifecycle import EnvironmentLifecycle
from eb_tools.cloud.elasticbeanstalk.platform_operations import PlatformOperations
from eb_tools.cloud.elasticbeanstalk.versions import ApplicationVersions


class LocalEBBackend(EnvironmentLifecycle, Deployments, ConfigurationQueries, ApplicationVersions, InstanceLogs,
                     EventsAndTags, PlatformOperations):
    """The emulated Elastic Beanstalk of one account and region."""


eb_local_backends = BackendDict(LocalEBBackend, "elasticbeanstalk")
