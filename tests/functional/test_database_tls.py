"""TLS to PostgreSQL, verified: ``sslmode=verify-full`` with the operator's own CA
(``sslrootcert``, mounted with the chart's ``extraVolumes``). The api connects over
TLS to a server whose certificate that CA signed, and refuses to start against one
it did not."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import os
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from services.dev.embedded_postgres import EmbeddedPostgres
from services.store.migrations import migrate
from tests.support.fixtures_types import StartService
from tests.support.leaks import LEAK_WATCH
from tools.net import free_port


def _certificate(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey] | None,
) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    issuer_name, signer = issuer or (name, key)
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
    )
    if issuer is None:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
    else:
        names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
        builder = builder.add_extension(x509.SubjectAlternativeName(names), False)
    return builder.sign(signer, hashes.SHA256())


def _pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def _write_ca(folder: Path, name: str) -> tuple[Path, x509.Name, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = _certificate(name, key, None)
    path = folder / f"{name}.pem"
    path.write_bytes(_pem(certificate))
    return path, certificate.subject, key


@pytest.fixture
async def tls_postgres(session_dir: Path) -> AsyncIterator[tuple[EmbeddedPostgres, Path, Path]]:
    """A PostgreSQL on loopback TCP with a certificate from its own CA; the CA's file,
    and another CA's that did not sign it."""
    folder = session_dir / "tls"
    folder.mkdir()
    ca, ca_name, ca_key = _write_ca(folder, "operator-ca")
    other_ca, _, _ = _write_ca(folder, "some-other-ca")
    server = EmbeddedPostgres(folder / "postgres", durable=False, tcp_port=free_port())
    await asyncio.to_thread(server.start)
    LEAK_WATCH.log_files.append(server.datadir / "server.log")
    key = ec.generate_private_key(ec.SECP256R1())
    (server.datadir / "server.crt").write_bytes(
        _pem(_certificate("localhost", key, (ca_name, ca_key)))
    )
    (server.datadir / "server.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    for file in ("server.crt", "server.key"):
        path = server.datadir / file
        path.chmod(0o600)
        if server.user:
            os.chown(path, server.user.pw_uid, server.user.pw_gid)
    conn = await asyncpg.connect(server.url)
    try:
        await conn.execute("ALTER SYSTEM SET ssl = on")
        await conn.execute("SELECT pg_reload_conf()")
    finally:
        await conn.close()
    conn = await asyncpg.connect(server.url)  # after the reload: a new session
    try:
        await migrate(conn)
    finally:
        await conn.close()
    yield server, ca, other_ca
    await asyncio.to_thread(server.stop, "immediate")


async def test_the_api_verifies_postgresql_s_certificate_against_the_operator_s_ca(
    tls_postgres: tuple[EmbeddedPostgres, Path, Path], start_service: StartService
) -> None:
    server, ca, other_ca = tls_postgres
    base = f"postgresql://postgres@localhost:{server.tcp_port}/postgres?sslmode=verify-full"
    api = start_service("api", f"{base}&sslrootcert={ca}")
    conn = await asyncpg.connect(server.url)
    try:
        over_tls = await conn.fetch(
            "SELECT s.ssl FROM pg_stat_ssl AS s JOIN pg_stat_activity AS a USING (pid) "
            "WHERE a.application_name = 'burnafter'"
        )
    finally:
        await conn.close()
    assert over_tls and all(row["ssl"] for row in over_tls)
    assert api.process.poll() is None

    with pytest.raises(AssertionError) as refused:
        start_service("api", f"{base}&sslrootcert={other_ca}")
    said = str(refused.value)
    assert "burnafter api: cannot use the database: SSLCertVerificationError" in said
    assert "certificate verify failed" in said
    assert "Traceback" not in said
