"""The components' Kafka grants and the client security settings (pure)."""

from __future__ import annotations

import pytest

from runtime.kafka_acls import USERS, grants
from runtime.settings import Settings
from schemas.errors import ConfigError


def _of(user: str, operation: str, resource: str = "topic", prefix: str = "") -> set[str]:
    return {g.name for g in grants(prefix) if g.user == user and g.operation == operation and g.resource == resource}


def test_agents_may_only_write_their_capture_and_read_policy_and_consent() -> None:
    assert _of("agent", "WRITE") == {"interactions.raw", "screens.raw", "agents.heartbeat", "control.consent"}
    assert _of("agent", "READ") == {"control.policy", "control.consent"}
    assert {g.operation for g in grants() if g.user == "agent"} == {"READ", "WRITE"}
    assert _of("agent", "READ", "group") == {"teachstream-follow-"}


def test_only_the_stream_writes_clean_records_and_only_operators_publish_policy_and_erasure() -> None:
    for topic in ("interactions.clean", "screens.clean", "trajectories"):
        assert {g.user for g in grants() if g.name == topic and g.operation in ("WRITE", "ALL")} == {"streams"}
    for topic in ("control.policy", "control.erasure"):
        assert {g.user for g in grants() if g.name == topic and g.operation == "WRITE"} == {"ops"}
    readers_of_raw = {
        g.user for g in grants() if g.name in ("interactions.raw", "screens.raw") and g.operation == "READ"
    }
    assert readers_of_raw == {"streams"}  # and ops, through its wildcard
    assert not any(g.name == "*" and g.operation != "DESCRIBE" for g in grants() if g.user != "ops")


def test_grants_follow_the_topic_prefix_and_the_group_names() -> None:
    prefixed = grants("tenant-a.", "tenant-a-streams", "tenant-a-sink")
    assert all(g.name.startswith(("tenant-a", "teachstream-", "*")) for g in prefixed)
    ops = [g for g in prefixed if g.user == "ops" and g.resource == "topic" and g.operation == "READ"]
    assert [(g.name, g.prefixed) for g in ops] == [("tenant-a.", True)]
    assert {g.user for g in prefixed} == set(USERS)


def test_client_security_settings() -> None:
    plain = Settings.model_validate({"kafka_security_protocol": "PLAINTEXT"})
    assert "security.protocol" not in plain.kafka()
    secure = Settings.model_validate(
        {
            "kafka_security_protocol": "sasl_ssl",
            "kafka_username": "agent",
            "kafka_password": "s3cret",
            "kafka_ca_file": "/etc/teachstream/ca.crt",
        }
    )
    conf = secure.kafka()
    assert conf["security.protocol"] == "sasl_ssl" and conf["sasl.mechanisms"] == "SCRAM-SHA-512"
    assert (conf["sasl.username"], conf["sasl.password"], conf["ssl.ca.location"]) == (
        "agent",
        "s3cret",
        "/etc/teachstream/ca.crt",
    )
    assert "s3cret" not in repr(secure)
    with pytest.raises(ConfigError, match="TEACHSTREAM_KAFKA_PASSWORD"):
        Settings.model_validate({"kafka_security_protocol": "SASL_SSL", "kafka_username": "agent"}).kafka()
    with pytest.raises(ValueError, match="PLAINTEXT"):
        Settings.model_validate({"kafka_security_protocol": "TLS"})


def test_every_grant_becomes_a_kafka_acl_binding() -> None:
    from confluent_kafka.admin._acl import AclOperation, AclPermissionType
    from confluent_kafka.admin._resource import ResourcePatternType, ResourceType

    from teachstream.acl_cli import binding

    bindings = [binding(g) for g in grants()]  # every resource and operation name is one Kafka knows
    follow = next(b for b in bindings if b.principal == "User:agent" and b.restype == ResourceType.GROUP)
    assert (follow.name, follow.resource_pattern_type, follow.operation) == (
        "teachstream-follow-",
        ResourcePatternType.PREFIXED,
        AclOperation.READ,
    )
    assert {b.permission_type for b in bindings} == {AclPermissionType.ALLOW} and {b.host for b in bindings} == {"*"}


def test_faust_gets_the_same_security() -> None:
    import faust
    from faust.types.auth import AuthProtocol, SASLMechanism

    from streams.app import credentials
    from streams.settings import StreamsSettings

    assert credentials(StreamsSettings.model_validate({"kafka_security_protocol": "PLAINTEXT"})) is None
    sasl = credentials(
        StreamsSettings.model_validate(
            {"kafka_security_protocol": "SASL_SSL", "kafka_username": "streams", "kafka_password": "pw"}
        )
    )
    assert isinstance(sasl, faust.SASLCredentials)
    assert (sasl.username, sasl.password, sasl.protocol, sasl.mechanism) == (
        "streams",
        "pw",
        AuthProtocol.SASL_SSL,
        SASLMechanism.SCRAM_SHA_512,
    )
    tls = credentials(StreamsSettings.model_validate({"kafka_security_protocol": "SSL"}))
    assert isinstance(tls, faust.SSLCredentials)
