"""Systems Manager's Run Command and Session Manager against the local instances, for real (moto stores
commands and reports them successful without running anything, and has no sessions): which instances are
managed nodes (nodes.py), commands run as the SSM Agent runs AWS-RunShellScript (commands.py), sessions to a
shell under a terminal on the instance (sessions.py), and the API operations over them (operations.py).
"""
from eb_tools.cloud.ssm.operations import register

__all__ = ["register"]
