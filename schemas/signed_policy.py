"""Signed capture policies: canonical bytes, ed25519 signatures, expiry and trusted keys (pure core).

A policy published on ``control.policy`` is obeyed only when it is signed by a key the reader
trusts and is in force: issued no later than now (give or take ``SKEW`` of clock difference)
and not expired. The signature covers every field but itself, serialised canonically
(sorted-key JSON, times in microseconds since the epoch, UTC), so changing any field breaks
it; the site rules, added later, are left out while at their defaults, so policies signed
before they existed still verify. Keys are ed25519 (``cryptography``); a key's id is the first
16 hex digits of the SHA-256 of its raw public bytes and travels in the policy as ``key_id``, so a reader that trusts
several keys (a rotation) knows which one to check. Agents and the stream use the same
:func:`check`.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import enum
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from schemas.control_records import Policy

SKEW = timedelta(minutes=5)  # a policy issued this far in the reader's future is still taken
SIGNED_FIELDS = tuple(f.name for f in dataclasses.fields(Policy) if f.name != "signature")
# fields added after policies were first signed: left out of the signed bytes while at their default,
# so a policy signed before they existed still verifies
_SITE_RULES = {"allow_hosts", "deny_hosts", "unknown_hosts"}
_LATER = {f.name: f.default for f in dataclasses.fields(Policy) if f.name in _SITE_RULES}


class BadKey(ValueError):
    """A key that cannot be read (not base64, not 32 bytes, not an ed25519 PEM)."""


@dataclass(frozen=True)
class Validity:
    """Whether a policy may be obeyed, and a sentence saying why (for status and logs)."""

    valid: bool
    reason: str


def key_id(public: bytes) -> str:
    """The id of a raw 32-byte ed25519 public key."""
    return hashlib.sha256(public).hexdigest()[:16]


def canonical(policy: Policy) -> bytes:
    """The bytes a signature covers: every field but ``signature``, as sorted-key JSON."""
    fields = {
        name: _plain(getattr(policy, name))
        for name in SIGNED_FIELDS
        if name not in _LATER or getattr(policy, name) != _LATER[name]
    }
    return json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return round(moment.timestamp() * 1_000_000)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, float):
        return repr(value)  # a float's JSON form is not canonical across writers; its repr is
    return value


def new_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def private_pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def load_private(pem: bytes) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise BadKey(f"not an unencrypted PEM private key: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise BadKey("the private key is not an ed25519 key")
    return key


def public_raw(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_text(public: bytes) -> str:
    """How a public key is written in settings: base64 of its 32 raw bytes."""
    return base64.b64encode(public).decode()


def parse_public(text: str) -> bytes:
    """A public key from its settings form (base64 of 32 raw bytes)."""
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BadKey(f"public key {text[:12]!r}... is not base64") from exc
    if len(raw) != 32:
        raise BadKey(f"public key {text[:12]!r}... is {len(raw)} bytes, an ed25519 key is 32")
    return raw


def trusted(texts: Iterable[str]) -> dict[str, bytes]:
    """The trusted keys by id, from their settings form."""
    return {key_id(raw): raw for raw in map(parse_public, texts)}


def sign(policy: Policy, key: Ed25519PrivateKey) -> Policy:
    """``policy`` with ``key_id`` and ``signature`` set by ``key``."""
    unsigned = dataclasses.replace(policy, key_id=key_id(public_raw(key)), signature=None)
    return dataclasses.replace(unsigned, signature=key.sign(canonical(unsigned)))


def check_signature(policy: Policy, keys: dict[str, bytes]) -> Validity:
    """Whether ``policy`` is signed by one of ``keys`` (by id) and unchanged since."""
    name = describe(policy)
    if policy.signature is None or policy.key_id is None:
        return Validity(False, f"{name} is not signed")
    public = keys.get(policy.key_id)
    if public is None:
        return Validity(False, f"{name} is signed with key {policy.key_id}, which is not trusted here")
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(policy.signature, canonical(policy))
    except InvalidSignature:
        return Validity(False, f"{name} does not match its signature: it was changed after signing")
    return Validity(True, f"{name}, signed with key {policy.key_id}")


def in_force(policy: Policy, now: datetime) -> Validity:
    """Whether a correctly signed ``policy`` applies at ``now`` (issued, not expired)."""
    name = describe(policy)
    if policy.issued_at > now + SKEW:
        return Validity(False, f"{name} is issued at {at(policy.issued_at)}, in this clock's future")
    if policy.expires_at is not None and policy.expires_at <= now:
        return Validity(False, f"{name} expired at {at(policy.expires_at)}")
    until = f"until {at(policy.expires_at)}" if policy.expires_at is not None else "without expiry"
    return Validity(True, f"{name}, signed with key {policy.key_id}, valid {until}")


def check(policy: Policy, keys: dict[str, bytes], now: datetime) -> Validity:
    """Whether ``policy`` may be obeyed at ``now`` by a reader trusting ``keys`` (by id)."""
    signed = check_signature(policy, keys)
    return in_force(policy, now) if signed.valid else signed


def describe(policy: Policy) -> str:
    return f"policy {policy.policy_id!r} version {policy.version!r}"


def at(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
