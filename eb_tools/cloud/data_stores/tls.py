"""A local certificate authority for the data servers that speak TLS (ElastiCache with
TransitEncryptionEnabled: the apps connect with rediss://).

In AWS the node's certificate chains to a public CA the instance already trusts. Here the cloud makes its own
CA once per data folder (kept, so a resumed stage trusts the same one) and a certificate per server naming its
loopback address; the local stage hands the CA to the apps as one declared override (SSL_CERT_FILE, which
Python's default TLS context reads), so their code and its certificate checks are the same as in AWS.
"""
from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

VALID_DAYS = 3650


@dataclass(frozen=True)
class ServerCertificate:
    certificate: Path
    key: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _write_key(key: ec.EllipticCurvePrivateKey, path: Path) -> None:
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    path.chmod(0o600)


def _builder(subject: x509.Name, issuer: x509.Name, key: ec.EllipticCurvePrivateKey) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=VALID_DAYS)))


class LocalCA:
    """The CA of one data folder: `ca.pem` is what clients trust."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.certificate = folder / "ca.pem"
        self._key = folder / "ca.key"

    def ensure(self) -> LocalCA:
        """Make the CA unless the folder has one."""
        if self.certificate.is_file() and self._key.is_file():
            return self
        self.folder.mkdir(parents=True, exist_ok=True)
        key = ec.generate_private_key(ec.SECP256R1())
        name = _name("eb_tools local cloud CA")
        certificate = (_builder(name, name, key)
                       .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                       .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                                    content_commitment=False, key_encipherment=False,
                                                    data_encipherment=False, key_agreement=False,
                                                    encipher_only=False, decipher_only=False), critical=True)
                       .sign(key, hashes.SHA256()))
        _write_key(key, self._key)
        self.certificate.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        return self

    def issue(self, host: str, folder: Path) -> ServerCertificate:
        """A server certificate for `host` (an IP address or a DNS name) in `folder`."""
        self.ensure()
        ca_key = serialization.load_pem_private_key(self._key.read_bytes(), password=None)
        ca = x509.load_pem_x509_certificate(self.certificate.read_bytes())
        assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
        key = ec.generate_private_key(ec.SECP256R1())
        try:
            alternative: x509.GeneralName = x509.IPAddress(ipaddress.ip_address(host))
        except ValueError:
            alternative = x509.DNSName(host)
        certificate = (_builder(_name(host), ca.subject, key)
                       .add_extension(x509.SubjectAlternativeName([alternative]), critical=False)
                       .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
                                      critical=False)
                       .sign(ca_key, hashes.SHA256()))
        folder.mkdir(parents=True, exist_ok=True)
        issued = ServerCertificate(folder / "server.pem", folder / "server.key")
        _write_key(key, issued.key)
        issued.certificate.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        return issued
