"""A session's steps and frames in one object, for snapshots read many times (pure core).

A dataset stores one object per frame, which is what the sink, erasure and withdrawal need. A
training run reads the same sessions every epoch, and then the cost is one request per frame. A
*packed* snapshot adds one tar archive per session holding exactly the steps object and the
frames it pinned (member names are their keys, bytes as stored), and the same steps once more as
an Arrow IPC stream (``<steps key>.arrows``, read 40 times faster than a small Parquet file), so a
reader fetches a session in one request::

    frames/user=<u>/packs/<session id>-<sha256 of the pinned versions, 16 hex>.tar

Any tar reader lists it. Its first member, ``index.json``, gives each other member's offset and
size (from the end of the index member), so a reader slices the archive without walking it.

Packs live under the person's ``frames/`` prefix on purpose: an erasure deletes that prefix, and a
withdrawal deletes the objects there taken after it (a pack is stamped with its session's end, so
it goes if any of its frames does). The snapshot pins each pack by its ETag like the frames.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from collections.abc import Mapping

from schemas.dataset import SessionEntry, user_prefixes
from schemas.errors import TeachstreamError

PACK_DIR = "packs/"
PACK_SUFFIX = ".tar"


class PackError(TeachstreamError):
    """A pack that cannot be read as the archive of frames it should be."""


INDEX_NAME = "index.json"
ARROW_SUFFIX = ".arrows"
_FORMAT = "teachstream-pack/1"
_BLOCK = 512


def pack_key(entry: SessionEntry, etags: Mapping[str, str]) -> str:
    """Where the pack of ``entry``'s objects in these versions lives: the same versions, the same key."""
    listed = "".join(f"{key}\0{etags[key]}\n" for key in sorted(etags))
    digest = hashlib.sha256(listed.encode()).hexdigest()[:16]
    return f"{user_prefixes(entry.user_id, [])[0]}{PACK_DIR}{entry.session_id}-{digest}{PACK_SUFFIX}"


def is_pack(key: str) -> bool:
    return f"/{PACK_DIR}" in key and key.endswith(PACK_SUFFIX)


def pack(objects: Mapping[str, bytes]) -> bytes:
    """A tar archive of the objects, by key, in key order, after its index (the same objects, the same bytes)."""
    members = _tar({k: objects[k] for k in sorted(objects)})
    with tarfile.open(fileobj=io.BytesIO(members), mode="r:") as tar:
        offsets = {m.name: [m.offset_data, m.size] for m in tar}
    index = json.dumps({"format": _FORMAT, "members": offsets}, sort_keys=True).encode()
    data = _tar({INDEX_NAME: index} | {k: objects[k] for k in sorted(objects)})
    if unpack(data, "the pack being written") != dict(objects):  # the index points where tarfile wrote
        raise PackError("a pack did not read back as written")
    return data


def _tar(objects: Mapping[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for key, body in objects.items():
            info = tarfile.TarInfo(key)
            info.size, info.mode = len(body), 0o644
            tar.addfile(info, io.BytesIO(body))
    return out.getvalue()


def unpack(data: bytes, name: str) -> dict[str, bytes]:
    """The objects in a pack, by key; :class:`PackError` if ``data`` is not a whole pack (``name`` says which).

    Each member must start on a block of its own, right after a tar header that gives its size, and
    end inside the archive; members may not overlap."""
    header = data[:_BLOCK]
    if len(header) < _BLOCK or header[257:262] != b"ustar" or header[:100].rstrip(b"\0") != INDEX_NAME.encode():
        raise PackError(f"{name} is not a pack: it does not begin with its {INDEX_NAME}")
    size = _size(header)
    try:
        index = json.loads(data[_BLOCK : _BLOCK + size]) if size is not None else None
    except (ValueError, RecursionError) as exc:
        raise PackError(f"{name} is not a pack: its index cannot be read ({exc})") from None
    if size is None or not isinstance(index, dict):
        raise PackError(f"{name} is not a pack: its index cannot be read (not a JSON object)")
    if index.get("format") != _FORMAT:
        raise PackError(f"{name} is a {index.get('format')!r} pack; this reader knows {_FORMAT}")
    members = index.get("members")
    if not isinstance(members, dict) or not all(_is_span(v) for v in members.values()):
        raise PackError(f"{name} is not a pack: its index does not give an offset and a size for each member")
    base = _BLOCK + -(-size // _BLOCK) * _BLOCK
    end = base
    found: dict[str, bytes] = {}
    for key, (at, n) in sorted(members.items(), key=lambda item: item[1][0]):
        start = base + at
        if start + n > len(data):
            raise PackError(f"{name} is damaged: it ends before its member {key!r}")
        if at % _BLOCK or start - _BLOCK < end or _size(data[start - _BLOCK : start]) != n:
            raise PackError(f"{name} is damaged: its index does not point at the member {key!r}")
        found[key] = data[start : start + n]
        end = start + n
    return found


def _size(header: bytes) -> int | None:
    """The size a tar header gives its member, or None if ``header`` is not a ustar header."""
    if len(header) != _BLOCK or header[257:262] != b"ustar":
        return None
    try:
        return int(header[124:136].strip(b"\0 ") or b"0", 8)
    except ValueError:
        return None


def _is_span(value: object) -> bool:
    return (
        isinstance(value, list)
        and len(value) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value)
    )
