"""ACM certificates a load balancer's HTTPS listener serves, and the local CA's that stand for them.

In AWS a stage's domain has a certificate ACM issued once its owner proved the domain (DNS validation), and
the web environment's HTTPS listener names it by ARN (aws:elbv2:listener:443 SSLCertificateArns); the ALB
fails to create a listener whose certificate ACM does not have. Here nobody can prove a domain to a public CA,
so `issue` is that step done: the cloud's local CA (data_stores/tls.py) signs a certificate for the domain and
ACM holds it, with its key, under the ARN the stage file names. `served` is what the listener loads.
"""
from __future__ import annotations

from pathlib import Path

from eb_tools.cloud.data_stores.tls import LocalCA
from eb_tools.cloud.moto_internals import BACKENDS, CertBundle, acm_backends


def issue(account: str, region: str, arn: str, domain: str, ca: LocalCA, folder: Path) -> None:
    """ACM in `region` holds a certificate for `domain`, signed by `ca`, under `arn` (replacing one there)."""
    issued = ca.issue(domain, folder)
    with BACKENDS:
        bundle = CertBundle(account, issued.certificate.read_bytes(), issued.key.read_bytes(),
                            chain=ca.certificate.read_bytes(), region=region, arn=arn)
        acm_backends[account][region]._certificates[arn] = bundle


def served(account: str, region: str, arn: str) -> tuple[bytes, bytes] | None:
    """The certificate and private key an HTTPS listener serves for `arn`; None when ACM has no issued
    certificate there (the caller holds the backends, as a request or the EB emulation's steps do). The
    certificate alone: its issuer is the local CA, which clients trust directly."""
    bundle = acm_backends[account][region]._certificates.get(arn)
    if bundle is None or bundle.status != "ISSUED":
        return None
    return bytes(bundle.cert), bytes(bundle.key)
