"""JSON rendering of records, and settings validation."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from runtime.settings import Settings, load
from schemas import ConfigError
from teachstream.render import record_line

NOW = datetime(2026, 11, 26, tzinfo=UTC)


def test_record_line_shows_bytes_as_size_and_hash_and_unions_as_types() -> None:
    line = json.loads(
        record_line(
            "t",
            0,
            1,
            b"k",
            "X",
            {"image": b"\x00" * 10, "payload": ("io.teachstream.KeyEvent", {"key": "a"}), "at": NOW},
        )
    )
    assert line["value"]["image"] == {"bytes": 10, "sha256": "01d448afd928065458cf670b60f5a594"[:16]}
    assert line["value"]["payload"] == {"type": "KeyEvent", "key": "a"}
    assert line["value"]["at"] == "2026-11-26T00:00:00+00:00"
    assert line["key"] == "k"


def test_settings_errors_name_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEACHSTREAM_S3_ENDPOINT", "localhost:9000")
    with pytest.raises(ConfigError, match=r"TEACHSTREAM_S3_ENDPOINT.*http://"):
        load(Settings)


def test_settings_precedence_flag_env_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    toml = tmp_path / "ts.toml"
    toml.write_text('kafka_bootstrap = "toml:1"\ns3_bucket = "from-toml"\ntopic_prefix = "toml."\n')
    monkeypatch.setenv("TEACHSTREAM_S3_BUCKET", "from-env")
    monkeypatch.delenv("TEACHSTREAM_KAFKA_BOOTSTRAP", raising=False)  # set where the stack's settings are loaded
    settings = load(Settings, toml, topic_prefix="flag.")
    assert (settings.kafka_bootstrap, settings.s3_bucket, settings.topic_prefix) == ("toml:1", "from-env", "flag.")
    assert settings.topic("deadletter") == "flag.deadletter"


def test_missing_config_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load(Settings, tmp_path / "nope.toml")


def test_secrets_are_not_in_the_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "hunter2")
    monkeypatch.setenv("TEACHSTREAM_PSEUDONYM_KEY", "k3y")
    text = repr(load(Settings))
    assert "hunter2" not in text and "k3y" not in text
