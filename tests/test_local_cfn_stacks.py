"""The local cloud's CloudFormation stacks, through boto3, behave as AWS's: change sets, outputs, rollback.

Every stack is created and updated as `eb_tools provision` does it: through change
sets, then waiting for a terminal status. What a stack made, or failed to make, is
read back through the service's own API.
"""
from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from eb_tools.aws import wait_until
from eb_tools.cloud.cfn_stacks import register
from eb_tools.cloud.cfn_stacks.schema import ALWAYS, CONDITIONALLY, MISSING, NEVER, requires_recreation
from eb_tools.cloud.server import LocalCloud
from tests.cloud_clients import local_client

NO_CHANGES = "The submitted information didn't contain changes. Submit different information to create a change set."


@pytest.fixture(scope="module")
def local_cloud() -> Iterator[LocalCloud]:
    register()
    server = LocalCloud().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def cfn(local_cloud: LocalCloud) -> Any:
    return local_client("cloudformation", local_cloud.url)


@pytest.fixture(scope="module")
def sqs(local_cloud: LocalCloud) -> Any:
    return local_client("sqs", local_cloud.url)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def queue(name: str | None = None, **properties: Any) -> dict[str, Any]:
    return {"Type": "AWS::SQS::Queue", "Properties": {**({"QueueName": name} if name else {}), **properties}}


def parameter(stack: str, name: str, value: Any) -> dict[str, Any]:
    """An SSM parameter, which the local cloud updates in place."""
    return {"Type": "AWS::SSM::Parameter", "Properties": {"Name": f"/eb-tools-test/{stack}/{name}", "Type": "String",
                                                          "Value": value}}


def change_set(cfn: Any, stack: str, template: dict[str, Any], kind: str, **extra: Any) -> dict[str, Any]:
    """Create a change set and describe it once it is no longer being created."""
    name = unique("cs")
    cfn.create_change_set(StackName=stack, ChangeSetName=name, ChangeSetType=kind,
                          TemplateBody=json.dumps(template), **extra)
    return wait_until(lambda: (d := cfn.describe_change_set(StackName=stack, ChangeSetName=name))["Status"]
                      not in ("CREATE_PENDING", "CREATE_IN_PROGRESS") and d, 10, f"change set {name} of {stack}")


def execute(cfn: Any, description: dict[str, Any]) -> dict[str, Any]:
    """Execute a change set and wait, as provision does, until the stack reaches a terminal status."""
    stack = description["StackName"]
    cfn.execute_change_set(StackName=stack, ChangeSetName=description["ChangeSetName"])
    return wait_until(lambda: (s := cfn.describe_stacks(StackName=stack)["Stacks"][0])["StackStatus"].endswith(
        ("_COMPLETE", "_FAILED")) and s, 10, f"stack {stack} to finish")


def deploy(cfn: Any, stack: str, template: dict[str, Any], kind: str = "CREATE", **extra: Any) -> dict[str, Any]:
    return execute(cfn, change_set(cfn, stack, template, kind, **extra))


def outputs(description: dict[str, Any]) -> dict[str, str]:
    return {o["OutputKey"]: o["OutputValue"] for o in description.get("Outputs", [])}


def events(cfn: Any, stack: str) -> list[tuple[str, str, str]]:
    """(logical id, status, reason) of the stack's events, oldest first."""
    oldest_first = cfn.describe_stack_events(StackName=stack)["StackEvents"][::-1]
    return [(e["LogicalResourceId"], e["ResourceStatus"], e.get("ResourceStatusReason", "")) for e in oldest_first]


def queue_arn(sqs: Any, name: str) -> str:
    url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    return str(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])


def queue_exists(sqs: Any, name: str) -> bool:
    try:
        sqs.get_queue_url(QueueName=name)
    except ClientError as error:
        assert "NonExistentQueue" in error.response["Error"]["Code"]
        return False
    return True


def with_arn_output(template: dict[str, Any], resource: str = "Queue") -> dict[str, Any]:
    return {**template, "Outputs": {"Arn": {"Value": {"Fn::GetAtt": [resource, "Arn"]}},
                                    "Url": {"Value": {"Ref": resource}}}}


def test_create_through_a_change_set_gives_the_outputs(cfn, sqs):
    stack, name = unique("create"), unique("q")
    description = change_set(cfn, stack, with_arn_output({"Resources": {"Queue": queue(name)}}), "CREATE")
    assert cfn.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"] == "REVIEW_IN_PROGRESS"
    assert description["Status"] == "CREATE_COMPLETE" and description["ExecutionStatus"] == "AVAILABLE"
    assert [c["ResourceChange"] for c in description["Changes"]] == [
        {"Action": "Add", "LogicalResourceId": "Queue", "ResourceType": "AWS::SQS::Queue", "Scope": [], "Details": []}]

    created = execute(cfn, description)

    assert created["StackStatus"] == "CREATE_COMPLETE"
    assert outputs(created)["Arn"] == queue_arn(sqs, name)
    assert outputs(created)["Url"].endswith(f"/{name}")
    assert [(e[0], e[1]) for e in events(cfn, stack)] == [
        (stack, "REVIEW_IN_PROGRESS"), (stack, "CREATE_IN_PROGRESS"), ("Queue", "CREATE_IN_PROGRESS"),
        ("Queue", "CREATE_IN_PROGRESS"), ("Queue", "CREATE_COMPLETE"), (stack, "CREATE_COMPLETE")]
    described = cfn.describe_change_set(StackName=stack, ChangeSetName=description["ChangeSetName"])
    assert described["ExecutionStatus"] == "EXECUTE_COMPLETE"


def test_update_through_a_change_set_makes_the_outputs_current(cfn, sqs):
    stack, first, second = unique("update"), unique("q"), unique("q")
    deploy(cfn, stack, with_arn_output({"Resources": {"Queue": queue(first)}}))

    updated = deploy(cfn, stack, with_arn_output({"Resources": {"Queue": queue(second)}}), "UPDATE")

    assert updated["StackStatus"] == "UPDATE_COMPLETE"
    assert outputs(updated)["Arn"] == queue_arn(sqs, second)
    assert not queue_exists(sqs, first)  # the replaced queue is deleted in the cleanup
    history = events(cfn, stack)
    assert ("Queue", "UPDATE_IN_PROGRESS",
            "Requested update requires the creation of a new physical resource; hence creating one.") in history
    assert [(name, status) for name, status, _ in history][-5:] == [
        ("Queue", "UPDATE_COMPLETE"), (stack, "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"),
        ("Queue", "DELETE_IN_PROGRESS"), ("Queue", "DELETE_COMPLETE"), (stack, "UPDATE_COMPLETE")]


def test_an_in_place_update_keeps_the_resource_and_applies_the_change(cfn, local_cloud):
    ssm = local_client("ssm", local_cloud.url)
    stack, name = unique("in-place"), f"/eb-tools-test/{uuid.uuid4().hex[:8]}"

    def template(value: str) -> dict[str, Any]:
        parameter = {"Type": "AWS::SSM::Parameter", "Properties": {"Name": name, "Type": "String", "Value": value}}
        return {"Resources": {"Setting": parameter}, "Outputs": {"Name": {"Value": {"Ref": "Setting"}}}}

    deploy(cfn, stack, template("one"))
    description = change_set(cfn, stack, template("two"), "UPDATE")
    assert description["Changes"][0]["ResourceChange"]["Replacement"] == "False"

    updated = execute(cfn, description)

    assert updated["StackStatus"] == "UPDATE_COMPLETE" and outputs(updated) == {"Name": name}
    assert ssm.get_parameter(Name=name)["Parameter"]["Value"] == "two"


def test_change_set_changes_are_shaped_as_aws_describes_them(cfn):
    stack, renamed, kept, dropped = unique("table"), unique("q"), unique("q"), unique("q")
    deploy(cfn, stack, {"Resources": {
        "Renamed": queue(renamed), "Tuned": queue(kept, VisibilityTimeout=30), "Dropped": queue(dropped),
        "Follower": queue(RedrivePolicy={"deadLetterTargetArn": {"Fn::GetAtt": ["Renamed", "Arn"]},
                                         "maxReceiveCount": 3})}})
    physical = {r["LogicalResourceId"]: r["PhysicalResourceId"]
                for r in cfn.describe_stack_resources(StackName=stack)["StackResources"]}

    description = change_set(cfn, stack, {"Resources": {
        "Renamed": queue(renamed + "-2"), "Tuned": queue(kept, VisibilityTimeout=60), "Added": queue(),
        "Follower": queue(RedrivePolicy={"deadLetterTargetArn": {"Fn::GetAtt": ["Renamed", "Arn"]},
                                         "maxReceiveCount": 3})}}, "UPDATE")

    changes = {c["ResourceChange"]["LogicalResourceId"]: c["ResourceChange"] for c in description["Changes"]}
    assert all(c["Type"] == "Resource" for c in description["Changes"])
    assert changes["Renamed"] == {
        "Action": "Modify", "LogicalResourceId": "Renamed", "PhysicalResourceId": physical["Renamed"],
        "ResourceType": "AWS::SQS::Queue", "Replacement": "True", "PolicyAction": "ReplaceAndDelete",
        "Scope": ["Properties"],
        "Details": [{"Target": {"Attribute": "Properties", "Name": "QueueName", "RequiresRecreation": "Always"},
                     "Evaluation": "Static", "ChangeSource": "DirectModification"}]}
    assert changes["Tuned"] == {
        "Action": "Modify", "LogicalResourceId": "Tuned", "PhysicalResourceId": physical["Tuned"],
        "ResourceType": "AWS::SQS::Queue", "Replacement": "False", "Scope": ["Properties"],
        "Details": [{"Target": {"Attribute": "Properties", "Name": "VisibilityTimeout", "RequiresRecreation": "Never"},
                     "Evaluation": "Static", "ChangeSource": "DirectModification"}]}
    # The queue's ARN changes with its replacement: what refers to it may change too, so AWS evaluates
    # the dependant Dynamically.
    assert changes["Follower"]["Replacement"] == "False"
    assert changes["Follower"]["Details"] == [
        {"Target": {"Attribute": "Properties", "Name": "RedrivePolicy", "RequiresRecreation": "Never"},
         "Evaluation": "Dynamic", "ChangeSource": "ResourceAttribute", "CausingEntity": "Renamed.Arn"}]
    assert changes["Added"] == {"Action": "Add", "LogicalResourceId": "Added", "ResourceType": "AWS::SQS::Queue",
                                "Scope": [], "Details": []}
    assert changes["Dropped"] == {"Action": "Remove", "LogicalResourceId": "Dropped",
                                  "PhysicalResourceId": physical["Dropped"], "ResourceType": "AWS::SQS::Queue",
                                  "PolicyAction": "Delete", "Scope": [], "Details": []}


def test_a_changed_parameter_is_a_static_parameter_reference(cfn):
    stack = unique("params")
    template = {"Parameters": {"Name": {"Type": "String"}}, "Resources": {"Queue": queue({"Ref": "Name"})}}
    deploy(cfn, stack, template, Parameters=[{"ParameterKey": "Name", "ParameterValue": unique("q")}])

    description = change_set(cfn, stack, template, "UPDATE",
                             Parameters=[{"ParameterKey": "Name", "ParameterValue": unique("q")}])

    change = description["Changes"][0]["ResourceChange"]
    assert change["Replacement"] == "True"
    assert change["Details"] == [
        {"Target": {"Attribute": "Properties", "Name": "QueueName", "RequiresRecreation": "Always"},
         "Evaluation": "Static", "ChangeSource": "ParameterReference", "CausingEntity": "Name"}]


@pytest.mark.parametrize(("resource_type", "prop", "expected"), [
    ("AWS::RDS::DBInstance", "StorageEncrypted", ALWAYS),
    ("AWS::RDS::DBInstance", "DBInstanceIdentifier", ALWAYS),
    ("AWS::RDS::DBInstance", "Engine", CONDITIONALLY),
    ("AWS::RDS::DBInstance", "MultiAZ", CONDITIONALLY),
    ("AWS::RDS::DBInstance", "AllocatedStorage", NEVER),
    ("AWS::ElastiCache::ReplicationGroup", "AtRestEncryptionEnabled", ALWAYS),
    ("AWS::ElastiCache::ReplicationGroup", "AuthToken", CONDITIONALLY),
    ("AWS::ElastiCache::ReplicationGroup", "CacheNodeType", NEVER),
    ("AWS::S3::Bucket", "BucketName", ALWAYS),
    ("AWS::S3::Bucket", "VersioningConfiguration", NEVER),
    ("AWS::SQS::Queue", "FifoQueue", ALWAYS),
    ("AWS::SQS::Queue", "RedrivePolicy", NEVER),
    ("AWS::SecretsManager::Secret", "Name", ALWAYS),
    ("AWS::SecretsManager::Secret", "Description", NEVER),
    ("AWS::EC2::VPC", "CidrBlock", ALWAYS),
    ("AWS::EC2::Subnet", "AvailabilityZone", ALWAYS),
    ("AWS::EC2::SecurityGroup", "GroupDescription", ALWAYS),
    ("AWS::EC2::SecurityGroup", "SecurityGroupIngress", NEVER),
    ("AWS::IAM::Role", "RoleName", ALWAYS),
    ("AWS::IAM::Role", "Policies", NEVER),
])
def test_replacement_follows_the_registry_schemas(resource_type, prop, expected):
    assert requires_recreation(resource_type, "us-east-1", prop, "before", "after") == expected
    assert requires_recreation(resource_type, "us-east-1", prop, MISSING, MISSING) == NEVER  # nothing changed


def test_an_unchanged_update_is_a_failed_change_set(cfn):
    stack = unique("same")
    template = {"Parameters": {"Timeout": {"Type": "Number", "Default": "30"}},
                "Resources": {"Queue": queue(VisibilityTimeout={"Ref": "Timeout"})}}
    deploy(cfn, stack, template)

    description = change_set(cfn, stack, template, "UPDATE",
                              Parameters=[{"ParameterKey": "Timeout", "ParameterValue": "30"}])

    assert (description["Status"], description["ExecutionStatus"]) == ("FAILED", "UNAVAILABLE")
    assert description["StatusReason"] == NO_CHANGES and description["Changes"] == []
    with pytest.raises(ClientError) as refused:
        cfn.execute_change_set(StackName=stack, ChangeSetName=description["ChangeSetName"])
    assert refused.value.response["Error"]["Code"] == "InvalidChangeSetStatus"
    assert "cannot be executed in its current status of [FAILED]" in refused.value.response["Error"]["Message"]


def test_a_resource_that_fails_rolls_the_creation_back(cfn, sqs):
    stack, made, bad = unique("rollback"), unique("q"), "not a queue name!"

    failed = deploy(cfn, stack, {"Resources": {"Made": queue(made), "Bad": {**queue(bad), "DependsOn": "Made"}}})

    assert failed["StackStatus"] == "ROLLBACK_COMPLETE"
    assert not queue_exists(sqs, made)  # created, then deleted by the rollback
    history = events(cfn, stack)
    reason = next(reason for name, status, reason in history if (name, status) == ("Bad", "CREATE_FAILED"))
    assert reason.startswith('Resource handler returned message: "') and "HandlerErrorCode: " in reason
    assert [(name, status) for name, status, _ in history if name == stack] == [
        (stack, "REVIEW_IN_PROGRESS"), (stack, "CREATE_IN_PROGRESS"), (stack, "ROLLBACK_IN_PROGRESS"),
        (stack, "ROLLBACK_COMPLETE")]
    assert (stack, "ROLLBACK_IN_PROGRESS",
            "The following resource(s) failed to create: [Bad]. Rollback requested by user.") in history
    assert [(name, status) for name, status, _ in history if name == "Made"][-2:] == [
        ("Made", "DELETE_IN_PROGRESS"), ("Made", "DELETE_COMPLETE")]
    newest = cfn.describe_stack_events(StackName=stack)["StackEvents"][0]
    assert (newest["LogicalResourceId"], newest["ResourceStatus"]) == (stack, "ROLLBACK_COMPLETE")
    assert "Outputs" not in failed


def test_a_type_the_local_cloud_cannot_create_fails_loudly(cfn, sqs):
    stack, made = unique("faked"), unique("q")

    failed = deploy(cfn, stack, {"Resources": {
        "Made": queue(made), "Glue": {"Type": "AWS::Glue::Database", "DependsOn": "Made",
                                      "Properties": {"CatalogId": "123456789012", "DatabaseInput": {}}}}})

    assert failed["StackStatus"] == "ROLLBACK_COMPLETE" and not queue_exists(sqs, made)
    assert ("Glue", "CREATE_FAILED", "The local cloud does not emulate AWS::Glue::Database: moto has no model "
            "for it, so the resource is refused rather than faked.") in events(cfn, stack)


def test_a_type_aws_does_not_know_is_a_template_error(cfn):
    with pytest.raises(ClientError) as refused:
        change_set(cfn, unique("unknown"), {"Resources": {"X": {"Type": "AWS::Nothing::Here"}}}, "CREATE")
    assert refused.value.response["Error"]["Message"] == \
        "Template format error: Unrecognized resource types: [AWS::Nothing::Here]"


def test_a_failed_update_rolls_back_to_the_previous_stack(cfn, sqs):
    stack, first, second = unique("update-rollback"), unique("q"), unique("q")
    template = with_arn_output({"Resources": {"Queue": queue(first)}})
    before = deploy(cfn, stack, template)

    failed = deploy(cfn, stack, with_arn_output({"Resources": {
        "Queue": queue(second), "Bad": {**queue("not a queue name!"), "DependsOn": "Queue"}}}), "UPDATE")

    assert failed["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    assert outputs(failed) == outputs(before) and outputs(failed)["Arn"] == queue_arn(sqs, first)
    assert not queue_exists(sqs, second)  # the replacement the update made is deleted
    assert cfn.get_template(StackName=stack)["TemplateBody"] == template  # boto3 decodes the JSON body
    history = events(cfn, stack)
    assert (stack, "UPDATE_ROLLBACK_IN_PROGRESS", "The following resource(s) failed to create: [Bad].") in history
    assert any((name, status) == ("Bad", "CREATE_FAILED") and reason for name, status, reason in history)
    assert [(name, status) for name, status, _ in history if name == stack][-3:] == [
        (stack, "UPDATE_ROLLBACK_IN_PROGRESS"), (stack, "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS"),
        (stack, "UPDATE_ROLLBACK_COMPLETE")]

    # UPDATE_ROLLBACK_COMPLETE is a stable state: the stack takes the next update.
    assert deploy(cfn, stack, with_arn_output({"Resources": {"Queue": queue(second)}}), "UPDATE")["StackStatus"] \
        == "UPDATE_COMPLETE"


def test_a_rolled_back_creation_cannot_be_updated_only_deleted(cfn, sqs):
    stack = unique("dead")
    failed = deploy(cfn, stack, {"Resources": {"Bad": queue("not a queue name!")}})
    assert failed["StackStatus"] == "ROLLBACK_COMPLETE"

    with pytest.raises(ClientError) as refused:
        change_set(cfn, stack, {"Resources": {"Queue": queue()}}, "UPDATE")
    assert refused.value.response["Error"]["Code"] == "ValidationError"
    assert refused.value.response["Error"]["Message"] == \
        f"Stack:{failed['StackId']} is in ROLLBACK_COMPLETE state and can not be updated."

    with pytest.raises(ClientError) as exists:
        cfn.create_change_set(StackName=stack, ChangeSetName="again", ChangeSetType="CREATE",
                              TemplateBody=json.dumps({"Resources": {"Queue": queue()}}))
    assert exists.value.response["Error"]["Message"] == \
        f"Stack [{stack}] already exists and cannot be created again with the changeSet [again]."

    cfn.delete_stack(StackName=stack)
    assert cfn.describe_stacks(StackName=failed["StackId"])["Stacks"][0]["StackStatus"] == "DELETE_COMPLETE"
    name = unique("q")
    assert deploy(cfn, stack, {"Resources": {"Queue": queue(name)}})["StackStatus"] == "CREATE_COMPLETE"
    assert queue_exists(sqs, name)


def test_deleting_a_stack_deletes_its_resources_but_retains_what_it_must(cfn, sqs):
    stack, gone, kept = unique("delete"), unique("q"), unique("q")
    deploy(cfn, stack, {"Resources": {"Gone": queue(gone), "Kept": {**queue(kept), "DeletionPolicy": "Retain"}}})

    cfn.delete_stack(StackName=stack)

    assert not queue_exists(sqs, gone) and queue_exists(sqs, kept)
    deleted = next(s for s in cfn.list_stacks()["StackSummaries"] if s["StackName"] == stack)
    assert deleted["StackStatus"] == "DELETE_COMPLETE"
    statuses = {(e["LogicalResourceId"], e["ResourceStatus"])
                for e in cfn.describe_stack_events(StackName=deleted["StackId"])["StackEvents"]}
    assert {("Gone", "DELETE_COMPLETE"), ("Kept", "DELETE_SKIPPED")} <= statuses


def test_iam_resources_need_the_capability_aws_asks_for(cfn):
    role = {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {"Statement": []}}}
    named = {"Type": "AWS::IAM::Role", "Properties": {**role["Properties"], "RoleName": unique("role")}}
    for resource, capability in ((role, "CAPABILITY_IAM"), (named, "CAPABILITY_NAMED_IAM")):
        with pytest.raises(ClientError) as refused:
            change_set(cfn, unique("iam"), {"Resources": {"Role": resource}}, "CREATE")
        assert refused.value.response["Error"]["Code"] == "InsufficientCapabilitiesException"
        assert refused.value.response["Error"]["Message"] == f"Requires capabilities : [{capability}]"
    accepted = change_set(cfn, unique("iam"), {"Resources": {"Role": named}}, "CREATE",
                          Capabilities=["CAPABILITY_NAMED_IAM"])
    assert accepted["Status"] == "CREATE_COMPLETE"


def test_change_sets_are_found_within_their_stack(cfn):
    stacks = [unique("one"), unique("two")]
    for stack in stacks:
        cfn.create_change_set(StackName=stack, ChangeSetName="provision", ChangeSetType="CREATE",
                              TemplateBody=json.dumps({"Resources": {"Queue": queue()}}))
    ids = {stack: cfn.describe_stacks(StackName=stack)["Stacks"][0]["StackId"] for stack in stacks}
    for stack in stacks:
        assert cfn.describe_change_set(StackName=stack, ChangeSetName="provision")["StackId"] == ids[stack]
        assert [s["StackId"] for s in cfn.list_change_sets(StackName=stack)["Summaries"]] == [ids[stack]]
    with pytest.raises(ClientError) as missing:
        cfn.describe_change_set(StackName=stacks[0], ChangeSetName="nothing")
    assert missing.value.response["Error"]["Code"] == "ChangeSetNotFound"


def test_a_list_parameter_reads_back_as_aws_writes_it_and_updates_nothing_when_passed_back(cfn):
    """DescribeStacks gives a CommaDelimitedList parameter as the comma-separated string it was given (moto
    gave Python's list repr), so a caller that passes the live parameters back, as provision does when only
    another parameter changes, leaves the resources that use the list alone."""
    stack = unique("list-param")
    template = {"Parameters": {"Names": {"Type": "CommaDelimitedList"}, "Other": {"Type": "String"}},
                "Resources": {"Joined": parameter(stack, "joined", {"Fn::Join": ["+", {"Ref": "Names"}]}),
                              "OtherValue": parameter(stack, "other", {"Ref": "Other"})}}
    created = execute(cfn, change_set(cfn, stack, template, "CREATE", Parameters=[
        {"ParameterKey": "Names", "ParameterValue": "a,b"}, {"ParameterKey": "Other", "ParameterValue": "1"}]))
    live = {p["ParameterKey"]: p["ParameterValue"] for p in created["Parameters"]}
    assert live == {"Names": "a,b", "Other": "1"}
    again = change_set(cfn, stack, template, "UPDATE", Parameters=[
        {"ParameterKey": "Names", "ParameterValue": live["Names"]}, {"ParameterKey": "Other", "ParameterValue": "2"}])
    assert [c["ResourceChange"]["LogicalResourceId"] for c in again["Changes"]] == ["OtherValue"]
    assert execute(cfn, again)["StackStatus"] == "UPDATE_COMPLETE"
