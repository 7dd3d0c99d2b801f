"""Avro encoding and decoding of teachstream records (pure core, with one optional edge).

Two framings, both accepted by :meth:`Codec.decode`:

* **single-object encoding** (default): ``C3 01`` + CRC-64-AVRO fingerprint (8 bytes,
  little-endian) + Avro body, resolved against every schema version in ``schemas/avro``;
* **Confluent framing**: ``00`` + schema id (4 bytes, big-endian) + Avro body, used when a
  schema registry URL is configured; encoding goes through confluent-kafka's
  ``AvroSerializer`` and ids are resolved through its ``SchemaRegistryClient``.

Values are plain dicts as fastavro reads and writes them: unions of records are
``(full_name, dict)`` tuples, timestamps are tz-aware ``datetime`` in UTC.
"""

from __future__ import annotations

import io
import json
import logging
import struct
import time
import typing
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastavro import parse_schema, schemaless_reader, schemaless_writer

from schemas.errors import (
    BadFrameError,
    CodecError,
    SchemaRegistryUnavailableError,
    UnknownSchemaError,
    WrongRecordTypeError,
)
from schemas.registry import SchemaRegistry, SchemaVersion, default_registry

if TYPE_CHECKING:
    from confluent_kafka.schema_registry import SchemaRegistryClient

SINGLE_OBJECT_MAGIC = b"\xc3\x01"
CONFLUENT_MAGIC = b"\x00"
_SO_HEADER = 10
_CF_HEADER = 5


_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Decoded:
    """A decoded record: which schema it is, which version wrote it, and its value."""

    name: str
    writer_version: int | None  # None when the writer schema came from a registry
    value: dict[str, Any]

    @property
    def short_name(self) -> str:
        return self.name.rsplit(".", 1)[-1]


class Codec:
    """Encodes records in one framing and decodes records in either."""

    def __init__(
        self,
        registry: SchemaRegistry | None = None,
        schema_registry: SchemaRegistryClient | None = None,
    ) -> None:
        self._registry = registry or default_registry()
        self._sr = schema_registry
        self._serializers: dict[str, Any] = {}
        self._by_id: dict[int, tuple[str, dict[str, Any]]] = {}

    @classmethod
    def from_url(cls, schema_registry_url: str | None) -> Codec:
        """Single-object framing without a URL; Confluent framing with one (``mock://`` works)."""
        if not schema_registry_url:
            return cls()
        from confluent_kafka.schema_registry import SchemaRegistryClient

        return cls(schema_registry=SchemaRegistryClient.new_client({"url": schema_registry_url}))

    @property
    def registry(self) -> SchemaRegistry:
        return self._registry

    # -- encoding -----------------------------------------------------------------------
    def encode(self, name: str, value: Mapping[str, Any], topic: str = "teachstream") -> bytes:
        """Encode ``value`` with the newest shipped version of schema ``name``."""
        schema = self._registry.latest(name)
        if self._sr is not None:
            return self._encode_confluent(schema, value, topic)
        out = io.BytesIO()
        out.write(SINGLE_OBJECT_MAGIC)
        out.write(struct.pack("<Q", schema.fingerprint))
        try:
            schemaless_writer(out, schema.parsed, value, strict_allow_default=True)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise CodecError(f"cannot encode a {schema.short_name}: {exc}") from exc
        return out.getvalue()

    def _encode_confluent(self, schema: SchemaVersion, value: Mapping[str, Any], topic: str) -> bytes:
        from confluent_kafka.schema_registry import record_subject_name_strategy
        from confluent_kafka.schema_registry.avro import AvroSerializer
        from confluent_kafka.serialization import MessageField, SerializationContext

        serializer = self._serializers.get(schema.name)
        if serializer is None:
            serializer = AvroSerializer(
                self._sr,
                json.dumps(schema.raw),
                conf={"subject.name.strategy": record_subject_name_strategy},
            )
            self._serializers[schema.name] = serializer
        try:
            data: bytes = serializer(dict(value), SerializationContext(topic, MessageField.VALUE))
        except Exception as exc:  # confluent-kafka raises several unrelated types here
            raise CodecError(f"cannot encode a {schema.short_name} for the schema registry: {exc}") from exc
        return data

    # -- decoding -----------------------------------------------------------------------
    def decode(self, data: bytes) -> Decoded:
        """Decode a record in either framing; raises a :class:`CodecError` subclass if it cannot."""
        if data[:2] == SINGLE_OBJECT_MAGIC:
            if len(data) < _SO_HEADER:
                raise BadFrameError(f"truncated single-object header ({len(data)} bytes)")
            (fp,) = struct.unpack_from("<Q", data, 2)
            writer = self._registry.by_fingerprint(fp)
            reader = self._registry.latest(writer.name)
            resolve = None if reader.fingerprint == writer.fingerprint else reader.parsed  # no resolution: faster
            value = self._read(data[_SO_HEADER:], writer.parsed, resolve, writer.short_name)
            return Decoded(writer.name, writer.version, value)
        if data[:1] == CONFLUENT_MAGIC and len(data) >= _CF_HEADER:
            (schema_id,) = struct.unpack_from(">I", data, 1)
            name, writer_schema = self._confluent_schema(schema_id)
            reader = self._registry.latest(name)
            value = self._read(data[_CF_HEADER:], writer_schema, reader.parsed, reader.short_name)
            return Decoded(name, None, value)
        head = data[:4].hex() or "empty"
        raise BadFrameError(
            f"not an Avro record in a known framing (starts with {head}; expected c301 "
            "single-object or 00 Confluent framing)"
        )

    def attempts(self, data: bytes) -> Generator[tuple[float, SchemaRegistryUnavailableError], None, Decoded]:
        """The one decode-with-retry: returns the decoded record; while the schema registry cannot be reached, yields
        the delay to wait before the next attempt and the error (a record must never fail for want of the registry).
        :meth:`decode_patiently` drives it with a blocking sleep, ``streams.decoding.decode`` with an awaited one."""
        delay = 0.5
        while True:
            try:
                return self.decode(data)
            except SchemaRegistryUnavailableError as exc:
                _log.warning("%s; trying again in %.0fs", exc, delay)
                yield delay, exc
                delay = min(delay * 2, 10.0)

    def decode_patiently(
        self, data: bytes, keep_trying: Callable[[], bool], sleep: Callable[[float], None] = time.sleep
    ) -> Decoded:
        """``decode``, waiting out a schema registry that cannot be reached; raises once ``keep_trying`` is false."""
        attempts = self.attempts(data)
        try:
            while True:
                delay, exc = next(attempts)
                if not keep_trying():
                    raise exc
                sleep(delay)
        except StopIteration as done:
            decoded: Decoded = done.value
            return decoded

    def decode_named(self, data: bytes, name: str) -> dict[str, Any]:
        """Decode and check that the record is of schema ``name``."""
        decoded = self.decode(data)
        expected = self._registry.latest(name).name
        if decoded.name != expected:
            raise WrongRecordTypeError(f"expected a {expected}, got a {decoded.name}")
        return decoded.value

    @staticmethod
    def _read(body: bytes, writer: Any, reader: Any, label: str) -> dict[str, Any]:
        buf = io.BytesIO(body)
        try:
            value = schemaless_reader(buf, writer, reader, return_record_name=True, return_record_name_override=True)
        except (EOFError, ValueError, TypeError, IndexError, KeyError, UnicodeDecodeError, OverflowError) as exc:
            raise BadFrameError(f"corrupt {label} body: {type(exc).__name__}: {exc}") from exc
        except Exception as exc:  # fastavro raises its own schema-resolution errors
            raise BadFrameError(f"corrupt {label} body: {type(exc).__name__}: {exc}") from exc
        if buf.tell() != len(body):
            raise BadFrameError(f"{label} body has {len(body) - buf.tell()} trailing bytes")
        if not isinstance(value, dict):
            raise BadFrameError(f"{label} body is not a record")
        return value

    def _confluent_schema(self, schema_id: int) -> tuple[str, dict[str, Any]]:
        cached = self._by_id.get(schema_id)
        if cached is not None:
            return cached
        if self._sr is None:
            raise UnknownSchemaError(
                f"record is in Confluent framing (schema id {schema_id}) but no schema registry "
                "is configured; set TEACHSTREAM_SCHEMA_REGISTRY_URL"
            )
        try:
            registered = self._sr.get_schema(schema_id)
        except Exception as exc:
            if getattr(exc, "http_status_code", None) == 404:
                raise UnknownSchemaError(f"schema id {schema_id} is not in the schema registry: {exc}") from exc
            # the registry could not be asked (network, 5xx): the record is fine, so it must not be given up on
            raise SchemaRegistryUnavailableError(
                f"cannot reach the schema registry for schema id {schema_id} ({type(exc).__name__}: {exc})"
            ) from exc
        raw = json.loads(registered.schema_str or "null")
        if not isinstance(raw, dict) or raw.get("type") != "record":
            raise UnknownSchemaError(f"schema id {schema_id} is not an Avro record schema")
        name = raw["name"] if "." in raw["name"] else f"{raw.get('namespace', '')}.{raw['name']}"
        self._registry.latest(name)  # raises UnknownSchemaError for records we do not ship
        entry = (str(name), typing.cast(dict[str, Any], parse_schema(raw)))
        self._by_id[schema_id] = entry
        return entry
