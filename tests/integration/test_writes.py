"""The stream worker's producer on the real broker: a record Kafka refuses is produced again, never dropped."""

from __future__ import annotations

import asyncio
import logging
import os

import pytest
from confluent_kafka.admin import AlterConfigOpType, ConfigEntry, ConfigResource, NewTopic, ResourceType

from runtime.settings import load
from streams.settings import StreamsSettings
from streams.writes import KafkaWrites
from teachstream.admin import admin_client

from .conftest import Isolated


def test_a_record_kafka_refuses_is_produced_again_until_kafka_takes_it(
    isolated: Isolated, caplog: pytest.LogCaptureFixture
) -> None:
    topic = isolated.topic("refusing")
    admin = admin_client(isolated.settings)
    admin.create_topics([NewTopic(topic, 1, 1, config={"max.message.bytes": "2000"})])[topic].result(60)
    writes = KafkaWrites(load(StreamsSettings, topic_prefix=isolated.settings.topic_prefix))
    big = os.urandom(20_000)  # random bytes: zstd leaves them over the topic's limit

    async def scenario() -> None:
        writes.produce(topic, b"small", b"k1", 0)
        writes.produce(topic, big, b"k2", 0)
        flushing = asyncio.create_task(writes.flush())
        for _ in range(600):  # the broker refuses the big record: the worker says so and waits
            if "Kafka refused" in caplog.text:
                break
            await asyncio.sleep(0.1)
        assert "Message size too large" in caplog.text
        assert not flushing.done()  # the batch is not acknowledged while a record of it is missing
        raise_limit = [ConfigEntry("max.message.bytes", "1000000", incremental_operation=AlterConfigOpType.SET)]
        for future in admin.incremental_alter_configs(
            [ConfigResource(ResourceType.TOPIC, topic, incremental_configs=raise_limit)]
        ).values():
            future.result(60)
        await asyncio.wait_for(flushing, 120)

    with caplog.at_level(logging.ERROR, logger="streams.writes"):
        asyncio.run(scenario())
    values = [m.value() for m in isolated.read_all("refusing", expect=2)]
    assert sorted(values, key=len) == [b"small", big]
