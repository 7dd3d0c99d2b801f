"""Avro contracts of teachstream: schema files, typed records, topics and the codec (pure core)."""

from schemas.codec import Codec, Decoded
from schemas.errors import (
    BadFrameError,
    CodecError,
    ConfigError,
    TeachstreamError,
    UnknownSchemaError,
    WrongRecordTypeError,
)
from schemas.records import from_avro, to_avro
from schemas.registry import default_registry
from schemas.topics import TOPIC_NAMES, TopicSpec, topic_specs

__all__ = [
    "TOPIC_NAMES",
    "BadFrameError",
    "Codec",
    "CodecError",
    "ConfigError",
    "Decoded",
    "TeachstreamError",
    "TopicSpec",
    "UnknownSchemaError",
    "WrongRecordTypeError",
    "default_registry",
    "from_avro",
    "to_avro",
    "topic_specs",
]
