"""The app over a TLS listener whose certificate a CA made by the test signed."""

import datetime
import ipaddress
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka.errors import KafkaConnectionError
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from app.core.settings import Settings
from app.dev.localbroker import LocalBroker, free_port
from app.pipeline import topics
from app.pipeline.kafka import make_producer
from tests.app.helpers import read_topic


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _pem_files(directory: Path) -> tuple[Path, Path]:
    """A self-signed CA, and a server certificate for 127.0.0.1 it signs: (CA file, keystore)."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("test CA"))
        .issuer_name(_name("test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    server = (
        x509.CertificateBuilder()
        .subject_name(_name("127.0.0.1"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_file = directory / "ca.pem"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    keystore = directory / "server.pem"
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    keystore.write_bytes(
        private + server.public_bytes(serialization.Encoding.PEM) + ca.public_bytes(serialization.Encoding.PEM)
    )
    return ca_file, keystore


@pytest.fixture(scope="module")
def tls_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalBroker, Path]]:
    ca_file, keystore = _pem_files(tmp_path_factory.mktemp("tls"))
    port = free_port()
    broker = LocalBroker(
        listeners={"SSL": (port, "SSL")},
        properties={"ssl.keystore.type": "PEM", "ssl.keystore.location": str(keystore)},
    )
    with broker:
        yield broker, ca_file


def _tls_settings(settings: Settings, broker: LocalBroker, ca_file: Path | None) -> Settings:
    return settings.model_copy(
        update={
            "kafka_auth": "tls",
            "kafka_ssl_cafile": str(ca_file) if ca_file else None,
            "kafka_bootstrap_servers": f"127.0.0.1:{broker.listener_ports['SSL']}",
        }
    )


@pytest.mark.asyncio
async def test_app_creates_topics_and_produces_over_tls_with_the_configured_ca(
    settings: Settings, tls_broker: tuple[LocalBroker, Path]
) -> None:
    broker, ca_file = tls_broker
    tls = _tls_settings(settings, broker, ca_file)
    assert await topics.ensure(tls)
    producer = make_producer(tls)
    await producer.start()
    try:
        await producer.send_and_wait(tls.topic_orders, b"over tls", key=b"k")
    finally:
        await producer.stop()
    plain = settings.model_copy(update={"kafka_bootstrap_servers": broker.bootstrap})
    assert [record.value for record in await read_topic(plain, tls.topic_orders, 1)] == [b"over tls"]


@pytest.mark.asyncio
async def test_app_refuses_a_broker_certificate_its_ca_did_not_sign(
    settings: Settings, tls_broker: tuple[LocalBroker, Path]
) -> None:
    broker, _ = tls_broker
    producer = make_producer(_tls_settings(settings, broker, None))
    with pytest.raises((KafkaConnectionError, ssl.SSLError)):
        await producer.start()
    await producer.stop()
