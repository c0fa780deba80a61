"""The one way an Elastic Beanstalk ARN is made, so every resource's ARN has the same shape."""
from __future__ import annotations


def arn(region: str, account: str, kind: str, *path: str) -> str:
    """`arn:aws:elasticbeanstalk:REGION:ACCOUNT:KIND/PATH...`; platforms are AWS's, so their account is ""."""
    return f"arn:aws:elasticbeanstalk:{region}:{account}:{kind}/{'/'.join(path)}"
