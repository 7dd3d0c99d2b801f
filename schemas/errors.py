"""The one exception tree of teachstream (pure core).

    TeachstreamError                  anything teachstream raises on purpose
    ├── ConfigError                   a setting is missing or invalid
    ├── CodecError                    a record could not be encoded or decoded
    │   ├── BadFrameError             bytes in no known framing, truncated, or a corrupt body
    │   ├── UnknownSchemaError        a fingerprint or registry id we do not ship
    │   └── WrongRecordTypeError      a valid record, but not the type the caller expects
    ├── RedactionError                a record could not be redacted; it is dead-lettered, never forwarded
    ├── ControlRecordError            a consent, erasure or policy record could not be applied; the process stops
    └── ServiceUnavailableError       Kafka, S3 or the schema registry cannot be reached, or refuses us
        ├── BrokerUnavailableError
        ├── StorageUnavailableError
        └── SchemaRegistryUnavailableError   a record cannot be decoded now; try again, never dead-letter

Third-party errors are translated at the edges with ``raise ... from exc``.
Per-record failures become dead-letter records with ``str(error)`` as the reason;
process-level failures stop the process with that sentence.
"""

from __future__ import annotations


class TeachstreamError(Exception):
    """Base of every error teachstream raises on purpose; its message is for an operator."""


class ConfigError(TeachstreamError):
    """A setting is missing or invalid."""


class CodecError(TeachstreamError):
    """A record could not be encoded or decoded."""


class BadFrameError(CodecError):
    """The bytes are not a record in a framing we know, or the body is corrupt."""


class UnknownSchemaError(CodecError):
    """The record names a schema (fingerprint or registry id) that we do not know."""


class WrongRecordTypeError(CodecError):
    """The record decoded, but it is not of the type the caller expected."""


class InvalidRecordError(CodecError):
    """Valid Avro of the right type, with values no real capture has (``schemas.validation``)."""


class RedactionError(TeachstreamError):
    """A record could not be redacted (an error, or not within its deadline); it must not go downstream."""


class ControlRecordError(TeachstreamError):
    """A control record (consent, erasure, policy) could not be applied: skipping it could break a promise to a
    person, so the component stops and says which record failed."""


class ServiceUnavailableError(TeachstreamError):
    """A service the command needs cannot be reached."""


class BrokerUnavailableError(ServiceUnavailableError):
    """The Kafka broker cannot be reached."""


class StorageUnavailableError(ServiceUnavailableError):
    """The S3 endpoint cannot be reached or refuses access."""


class SchemaRegistryUnavailableError(ServiceUnavailableError):
    """The schema registry could not be asked about a record's schema; the record itself may be fine."""
