"""`eb_tools provision`: the CloudFormation templates of a stage file, and the stacks' names."""
from eb_tools.names import network_stack_name, stage_stack_name
from eb_tools.provision.templates import network_template, stage_template

__all__ = ["network_stack_name", "network_template", "stage_stack_name", "stage_template"]
