"""Every schema version shipped in ``schemas/avro`` with its fingerprint (pure core).

Files are named ``<snake_name>.v<N>.avsc``. All versions stay; the newest version of a
record is the reader schema, so old writers keep decoding after a compatible change.
"""

from __future__ import annotations

import json
import re
import typing
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from fastavro import parse_schema
from fastavro.schema import to_parsing_canonical_form

from schemas.errors import UnknownSchemaError
from schemas.fingerprint import crc64_avro

AVRO_DIR = Path(__file__).parent / "avro"
NAMESPACE = "io.teachstream"
_FILE = re.compile(r"^(?P<stem>[a-z_]+)\.v(?P<version>\d+)\.avsc$")


@dataclass(frozen=True)
class SchemaVersion:
    """One shipped version of one record schema."""

    name: str  # full name, e.g. io.teachstream.InteractionEvent
    version: int
    raw: dict[str, Any]  # the .avsc as written, with its doc and pii tags
    parsed: dict[str, Any]  # fastavro's parsed form
    fingerprint: int  # CRC-64-AVRO of the parsing canonical form

    @property
    def short_name(self) -> str:
        return self.name.rsplit(".", 1)[-1]


class SchemaRegistry:
    """The schemas shipped with this package, looked up by name or fingerprint."""

    def __init__(self, versions: list[SchemaVersion]) -> None:
        self._by_fp = {v.fingerprint: v for v in versions}
        latest: dict[str, SchemaVersion] = {}
        for v in sorted(versions, key=lambda v: v.version):
            latest[v.name] = v
        self._latest = latest

    @property
    def names(self) -> list[str]:
        return sorted(self._latest)

    def versions(self) -> list[SchemaVersion]:
        return sorted(self._by_fp.values(), key=lambda v: (v.name, v.version))

    def latest(self, name: str) -> SchemaVersion:
        full = name if "." in name else f"{NAMESPACE}.{name}"
        try:
            return self._latest[full]
        except KeyError:
            raise UnknownSchemaError(f"no schema named {name!r} is shipped in schemas/avro") from None

    def by_fingerprint(self, fingerprint: int) -> SchemaVersion:
        try:
            return self._by_fp[fingerprint]
        except KeyError:
            raise UnknownSchemaError(
                f"schema fingerprint {fingerprint:016x} is not one of the {len(self._by_fp)} "
                "schema versions shipped in schemas/avro (a newer producer, or not a teachstream record)"
            ) from None


def load_version(path: Path) -> SchemaVersion:
    match = _FILE.match(path.name)
    if match is None:
        raise ValueError(f"{path.name}: schema files are named <name>.v<N>.avsc")
    raw = json.loads(path.read_text())
    parsed = typing.cast(dict[str, Any], parse_schema(raw))  # hinted as parsed: not parsed again on every call
    canonical = to_parsing_canonical_form(raw)
    name = raw["name"] if "." in raw["name"] else f"{raw.get('namespace', NAMESPACE)}.{raw['name']}"
    return SchemaVersion(
        name=name,
        version=int(match["version"]),
        raw=raw,
        parsed=parsed,
        fingerprint=crc64_avro(canonical.encode()),
    )


@cache
def default_registry() -> SchemaRegistry:
    """All versions in ``schemas/avro``, loaded once."""
    return SchemaRegistry([load_version(p) for p in sorted(AVRO_DIR.glob("*.avsc"))])


def pii_fields(schema: Any, prefix: str = "") -> dict[str, str]:
    """Paths of the fields tagged ``"pii"`` in a raw schema, with their category."""
    found: dict[str, str] = {}
    if isinstance(schema, list):
        for branch in schema:
            found.update(pii_fields(branch, prefix))
    elif isinstance(schema, dict):
        if schema.get("type") == "record":
            for field in schema["fields"]:
                path = f"{prefix}{field['name']}"
                if "pii" in field:
                    found[path] = field["pii"]
                found.update(pii_fields(field["type"], path + "."))
        elif schema.get("type") == "array":
            found.update(pii_fields(schema["items"], prefix))
    return found
