"""The CLI on the real stack: help everywhere, topic listing, and one clear sentence for operator mistakes."""

from __future__ import annotations

import pytest

from schemas.topics import TOPIC_NAMES
from tests.integration.conftest import Isolated

COMMANDS = ["tail", "topics", "lag", "provision", "streams", "sink", "simulate"]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(isolated: Isolated, command: str) -> None:
    result = isolated.cli(command, "--help")
    assert result.returncode == 0 and "Usage:" in result.stdout


def test_topics_lists_every_project_topic_with_its_configuration(isolated: Isolated) -> None:
    result = isolated.cli("topics")
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0]: line.split() for line in result.stdout.splitlines()[1:]}
    assert set(rows) == {isolated.topic(t) for t in TOPIC_NAMES}
    assert rows[isolated.topic("interactions.raw")][1:4] == ["6", "1d", "delete"]
    assert rows[isolated.topic("control.consent")][3] == "compact"
    assert rows[isolated.topic("screens.raw")][4] == "16.0MiB"


def _one_clear_sentence(result: object, *words: str) -> None:
    stderr = result.stderr  # type: ignore[attr-defined]
    assert result.returncode == 1, stderr  # type: ignore[attr-defined]
    assert "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("teachstream: "), stderr  # one sentence, no client noise
    for word in words:
        assert word in lines[0], lines[0]


def test_stack_not_running(isolated: Isolated) -> None:
    result = isolated.cli("topics", extra_env={"TEACHSTREAM_KAFKA_BOOTSTRAP": "127.0.0.1:1"})
    _one_clear_sentence(result, "cannot reach Kafka at 127.0.0.1:1", "make stack-up")


def test_bad_setting(isolated: Isolated) -> None:
    result = isolated.cli("topics", extra_env={"TEACHSTREAM_S3_ENDPOINT": "localhost:9000"})
    _one_clear_sentence(result, "TEACHSTREAM_S3_ENDPOINT", "http://")


def test_missing_topic(isolated: Isolated) -> None:
    _one_clear_sentence(isolated.cli("tail", "no.such.topic"), "no.such.topic does not exist", "teachstream topics")


def test_missing_bucket(isolated: Isolated) -> None:
    result = isolated.cli("sink", "--until-idle", "1", extra_env={"TEACHSTREAM_S3_BUCKET": "no-such-bucket-here"})
    _one_clear_sentence(result, "bucket no-such-bucket-here does not exist", "teachstream provision")


def test_wrong_s3_credentials(isolated: Isolated) -> None:
    result = isolated.cli("sink", "--until-idle", "1", extra_env={"AWS_SECRET_ACCESS_KEY": "wrong"})
    _one_clear_sentence(result, "denied", "AWS_SECRET_ACCESS_KEY")


def test_missing_topics_for_the_worker(isolated: Isolated) -> None:
    result = isolated.cli("streams", extra_env={"TEACHSTREAM_TOPIC_PREFIX": "nothing-here."})
    _one_clear_sentence(result, "nothing-here.interactions.raw", "teachstream provision")
