"""`eb_tools check`: an offline validator of an Elastic Beanstalk source bundle.

One module per concern under rules/, each yielding Findings of one shape; the
runner discovers them. Modelled on cfn-lint's rules.
"""
from eb_tools.check.findings import Finding, Rule
from eb_tools.check.runner import run, run_archive

__all__ = ["Finding", "Rule", "run", "run_archive"]
