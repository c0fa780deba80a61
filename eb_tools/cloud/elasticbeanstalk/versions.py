"""Application versions: bundles in S3 that environments deploy, and EB's storage bucket that holds them."""
from __future__ import annotations

from eb_tools.cloud.elasticbeanstalk import arns, services
from eb_tools.cloud.elasticbeanstalk.backend_core import EBBackendCore, operation
from eb_tools.cloud.elasticbeanstalk.entities import Version
from eb_tools.cloud.elasticbeanstalk.exceptions import (
    InvalidParameterCombination,
    InvalidParameterValue,
    MissingParameter,
    TooManyApplicationVersions,
)


class ApplicationVersions(EBBackendCore):
    @operation
    def storage_location(self) -> str:
        bucket = f"elasticbeanstalk-{self.region_name}-{self.account_id}"
        services.ensure_bucket(self.account_id, self.region_name, bucket)
        return bucket

    @operation
    def create_version(self, app_name: str, label: str, description: str, bucket: str, key: str,
                       auto_create: bool, process: bool) -> Version:
        """A version of a bundle in S3; `process` is the API's Process (the bundle is read and checked)."""
        if app_name not in self.applications and auto_create:
            self._create_application(app_name, "")
        app = self._application(app_name)
        if label in app.versions:
            raise InvalidParameterValue(f"Application Version {label} already exists.")
        if sum(len(a.versions) for a in self.applications.values()) >= self.max_application_versions:
            # AWS's message (quoted in boto/boto3#920), with the quota it applies.
            raise TooManyApplicationVersions(
                f"You cannot have more than {self.max_application_versions} Application Versions. Either remove "
                "some Application Versions or request a limit increase.")
        if not bucket or not key:
            raise MissingParameter("SourceBundle with S3Bucket and S3Key is required.")
        if services.read_object(self.account_id, bucket, key) is None:
            raise InvalidParameterCombination(
                f"Unable to download from S3 location (Bucket: {bucket}  Key: {key}). Reason: Not Found")
        app.versions[label] = Version(
            application=app_name, label=label, description=description, bucket=bucket, key=key,
            arn=arns.arn(self.region_name, self.account_id, "applicationversion", app_name, label),
            created=self.clock.now(), status="PROCESSED" if process else "UNPROCESSED")
        return app.versions[label]

    @operation
    def describe_versions(self, app_name: str | None, labels: list[str], limit: int | None) -> list[Version]:
        """Newest first, at most `limit`, of one application or of all."""
        apps = [self._application(app_name)] if app_name else list(self.applications.values())
        found = [v for app in apps for v in app.versions.values() if not labels or v.label in labels]
        return sorted(found, key=lambda v: v.created, reverse=True)[: limit or None]

    @operation
    def delete_version(self, app_name: str, label: str) -> None:
        self._version(app_name, label)
        users = [e.name for e in self._live() if e.application == app_name and e.version == label]
        if users:
            raise InvalidParameterValue(f"Unable to delete application version '{label}' because it is being "
                                        f"used by environment(s): {', '.join(users)}")
        del self.applications[app_name].versions[label]
