"""Settings: flags, ``TEACHSTREAM_*`` environment variables and an optional TOML file (edge).

One model per component subclasses :class:`Settings`; each command builds its model once
with :func:`load` and passes it down. Nothing else reads ``os.environ``. Precedence:
flags, then environment, then the TOML file (``--config`` or ``TEACHSTREAM_CONFIG``), then
defaults. Secrets are ``SecretStr`` and never logged.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar
from pathlib import Path
from typing import Any, TypeVar

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from schemas.errors import ConfigError

_TOML_FILE: ContextVar[Path | None] = ContextVar("teachstream_toml_file", default=None)
S = TypeVar("S", bound="Settings")
SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")


class Settings(BaseSettings):
    """What every teachstream command needs to find Kafka, S3 and its topics."""

    model_config = SettingsConfigDict(env_prefix="TEACHSTREAM_", extra="ignore", frozen=True)

    kafka_bootstrap: str = Field("127.0.0.1:9092", description="host:port of the Kafka brokers")
    kafka_security_protocol: str = Field(
        "PLAINTEXT", description="PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL (TLS and SCRAM: SASL_SSL)"
    )
    kafka_sasl_mechanism: str = Field("SCRAM-SHA-512", description="SASL mechanism when the protocol is SASL_*")
    kafka_username: str | None = Field(None, description="this component's Kafka user (SASL)")
    kafka_password: SecretStr | None = Field(None, description="its password (SASL)")
    kafka_ca_file: Path | None = Field(None, description="CA certificate (PEM) the brokers' TLS certificates chain to")
    schema_registry_url: str | None = Field(None, description="Confluent framing via this registry when set")
    topic_prefix: str = Field("", description="prefix of every topic name (isolates tests and tenants)")
    topic_replication: int = Field(
        1, ge=1, le=10, description="copies of every topic the project creates (3 on a production cluster)"
    )
    s3_endpoint: str | None = Field(None, description="S3 endpoint URL; None means AWS")
    s3_bucket: str = "teachstream"
    s3_prefix: str = Field("", description="key prefix inside the bucket")
    aws_access_key_id: str | None = Field(None, validation_alias=AliasChoices("AWS_ACCESS_KEY_ID"))
    aws_secret_access_key: SecretStr | None = Field(None, validation_alias=AliasChoices("AWS_SECRET_ACCESS_KEY"))
    aws_region: str = Field("us-east-1", validation_alias=AliasChoices("AWS_REGION", "TEACHSTREAM_AWS_REGION"))
    pseudonym_key: SecretStr = Field(
        SecretStr("teachstream-local-dev-key"),
        description="HMAC key for user and device pseudonyms; set a real secret in production",
    )
    pseudonym_previous_keys: tuple[SecretStr, ...] = Field(
        (),
        description="keys used before a rotation; erasure and data export also look for the pseudonyms they gave",
    )
    metrics_port: int | None = Field(
        None, description="serve Prometheus metrics on this port at /metrics (stream worker, sink); None: off"
    )
    metrics_bind: str = Field("127.0.0.1", description="address the metrics endpoint listens on (0.0.0.0: all)")
    raw_retention_hours: float = Field(
        24.0, gt=0, description="how long interactions.raw and screens.raw keep unredacted records"
    )
    dataset_retention_days: int = Field(
        365, ge=0, description="S3 lifecycle expiry of the dataset's objects (0: keep them); set by provision"
    )
    policy_keys: tuple[str, ...] = Field(
        (),
        description="ed25519 public keys (base64) whose signed policies on control.policy are obeyed; "
        "none: published policies are ignored (agents follow their configured policy)",
    )
    log_level: str = "INFO"

    def trusted_policy_keys(self) -> dict[str, bytes]:
        """The policy keys by id (``schemas.signed_policy.key_id``)."""
        from schemas.signed_policy import trusted

        return trusted(self.policy_keys)

    @field_validator("policy_keys")
    @classmethod
    def _policy_keys(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if value:
            from schemas.signed_policy import parse_public

            for text in value:
                parse_public(text)
        return value

    def pseudonym_keys(self) -> list[bytes]:
        """The current key first, then the keys it replaced."""
        return [k.get_secret_value().encode() for k in (self.pseudonym_key, *self.pseudonym_previous_keys)]

    @field_validator("kafka_bootstrap")
    @classmethod
    def _bootstrap(cls, value: str) -> str:
        for server in value.split(","):
            host, _, port = server.strip().rpartition(":")
            if not host or not port.isdigit():
                raise ValueError(f"{server!r} is not host:port")
        return value

    @field_validator("kafka_security_protocol")
    @classmethod
    def _protocol(cls, value: str) -> str:
        if value.upper() not in SECURITY_PROTOCOLS:
            raise ValueError(f"must be one of {', '.join(SECURITY_PROTOCOLS)}")
        return value.upper()

    def kafka_sasl(self) -> bool:
        """Whether clients authenticate with SASL (a user name and password are then required)."""
        return self.kafka_security_protocol.startswith("SASL_")

    def kafka_tls(self) -> bool:
        return self.kafka_security_protocol in ("SSL", "SASL_SSL")

    def kafka_security(self) -> dict[str, str]:
        """The librdkafka settings for the security protocol, SASL user and TLS trust (empty: plaintext)."""
        conf: dict[str, str] = {}
        if self.kafka_security_protocol != "PLAINTEXT":
            conf["security.protocol"] = self.kafka_security_protocol.lower()
        if self.kafka_sasl():
            if not self.kafka_username or self.kafka_password is None:
                raise ConfigError(
                    f"Kafka security protocol {self.kafka_security_protocol} needs TEACHSTREAM_KAFKA_USERNAME "
                    "and TEACHSTREAM_KAFKA_PASSWORD"
                )
            conf["sasl.mechanisms"] = self.kafka_sasl_mechanism
            conf["sasl.username"] = self.kafka_username
            conf["sasl.password"] = self.kafka_password.get_secret_value()
        if self.kafka_tls() and self.kafka_ca_file is not None:
            conf["ssl.ca.location"] = str(self.kafka_ca_file)
        return conf

    @field_validator("s3_endpoint")
    @classmethod
    def _endpoint(cls, value: str | None) -> str | None:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError(f"{value!r} must start with http:// or https://")
        return value or None

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        if value.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("must be DEBUG, INFO, WARNING or ERROR")
        return value.upper()

    def kafka(self, extra: dict[str, Any] | None = None, *, quiet: bool = False) -> dict[str, Any]:
        """confluent-kafka client config. ``quiet`` silences librdkafka's own log lines (for
        commands that turn failures into one sentence); otherwise they go to the ``librdkafka`` logger."""
        conf: dict[str, Any] = {"bootstrap.servers": self.kafka_bootstrap, **self.kafka_security(), **(extra or {})}
        if quiet:
            conf["log_level"] = 0
        else:
            conf["logger"] = logging.getLogger("librdkafka")
        return conf

    def topic(self, name: str) -> str:
        """The real name of project topic ``name`` under this deployment's prefix."""
        return f"{self.topic_prefix}{name}"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        toml_file = _TOML_FILE.get()
        if toml_file is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_file))
        return tuple(sources)


def load(cls: type[S], config_file: Path | None = None, **overrides: Any) -> S:
    """Build settings ``cls`` or raise a :class:`ConfigError` naming the bad setting."""
    if config_file is not None and not config_file.is_file():
        raise ConfigError(f"config file {config_file} does not exist; pass an existing TOML file to --config")
    token = _TOML_FILE.set(config_file)
    try:
        return cls(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "settings"
        raise ConfigError(
            f"setting {field} (TEACHSTREAM_{field.upper()}) is invalid: {first['msg']}; "
            "fix the flag, environment variable or config file"
        ) from exc
    finally:
        _TOML_FILE.reset(token)
