"""Typed records: frozen dataclasses that mirror the ``.avsc`` files, and their dict form (pure core).

A record class names its Avro schema in ``AVRO_NAME``. :func:`to_avro` turns an instance
into the dict fastavro writes (unions of records as ``(full_name, dict)`` tuples);
:func:`from_avro` turns a decoded dict back into the class.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import types
import typing
from collections.abc import Callable
from datetime import datetime
from functools import cache
from typing import Any, ClassVar, Protocol, TypeVar, Union

from schemas.registry import NAMESPACE


class AvroRecord(Protocol):
    """A frozen dataclass mirroring one Avro record schema."""

    AVRO_NAME: ClassVar[str]
    __dataclass_fields__: ClassVar[dict[str, Any]]


R = TypeVar("R", bound=AvroRecord)


def full_name(cls: type[AvroRecord]) -> str:
    return f"{NAMESPACE}.{cls.AVRO_NAME}"


def to_avro(record: AvroRecord) -> dict[str, Any]:
    """The dict fastavro writes for ``record``."""
    return _writer(type(record))(record)


def from_avro(cls: type[R], value: dict[str, Any]) -> R:
    """Build ``cls`` from a decoded dict (extra fields from newer writers are ignored)."""
    return typing.cast(R, _reader(cls)(value))


# Both directions are planned once per class and per field type (``_writer``, ``_reader``,
# ``_out``, ``_in``): looking at type hints for every field of every record was most of the
# cost of a record's round trip on the stream's hot path. A plan of ``None`` means "as it is".

Convert = Callable[[Any], Any]


@cache
def _hints(cls: type[AvroRecord]) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


@cache
def _writer(cls: type[AvroRecord]) -> Callable[[Any], dict[str, Any]]:
    fields = tuple((name, _out(tp)) for name, tp in _hints(cls).items())

    def write(record: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, convert in fields:
            value = getattr(record, name)
            out[name] = value if convert is None or value is None else convert(value)
        return out

    return write


@cache
def _reader(cls: type[AvroRecord]) -> Callable[[dict[str, Any]], Any]:
    fields = tuple((name, _in(tp)) for name, tp in _hints(cls).items())

    def read(value: dict[str, Any]) -> Any:
        kwargs: dict[str, Any] = {}
        for name, convert in fields:
            if name in value:
                item = value[name]
                kwargs[name] = item if convert is None or item is None else convert(item)
        return cls(**kwargs)

    # What ``read`` does, written out for this class: one call with every field named (a decoded record has
    # every field of the reader's schema). A field missing from ``value`` falls back to ``read``.
    args = ", ".join(
        f"{name}=value[{name!r}]"
        if convert is None
        else f"{name}=None if (v{i} := value[{name!r}]) is None else c{i}(v{i})"
        for i, (name, convert) in enumerate(fields)
    )
    scope: dict[str, Any] = {"cls": cls, "read": read, **{f"c{i}": c for i, (_, c) in enumerate(fields)}}
    exec(  # noqa: S102  # code made here from the class's own field names, as dataclasses does
        f"def fast(value):\n    try:\n        return cls({args})\n    except KeyError:\n        return read(value)\n",
        scope,
    )
    fast: Callable[[dict[str, Any]], Any] = scope["fast"]
    return fast


def _arms(tp: Any) -> tuple[Any, ...]:
    """The types a value of ``tp`` may have, ``None`` left out."""
    if typing.get_origin(tp) in (Union, types.UnionType):
        return tuple(a for a in typing.get_args(tp) if a is not type(None))
    return (tp,)


def _plain(tp: Any) -> bool:
    """Values of ``tp`` are written and read as they are (no records, enums or sequences)."""
    return isinstance(tp, type) and issubclass(tp, _PLAIN) and not issubclass(tp, enum.Enum)


_PLAIN = (str, int, float, bytes, bool, datetime)


@cache
def _out(tp: Any) -> Convert | None:
    """How a value (not None) of a field typed ``tp`` is written: records as dicts (tagged with
    their full name in a union of several records), enums by value, sequences as lists."""
    arms = _arms(tp)
    if all(_plain(a) for a in arms):
        return None
    tagged = sum(1 for a in arms if dataclasses.is_dataclass(a)) > 1
    items = [typing.get_args(a)[:1] for a in arms if typing.get_origin(a) in (tuple, list)]
    item_tp = items[0][0] if items and items[0] else Any

    def write(value: Any) -> Any:
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            body = to_avro(typing.cast(AvroRecord, value))
            return (full_name(type(value)), body) if tagged else body  # type: ignore[arg-type]
        if isinstance(value, enum.Enum):
            return value.value
        if isinstance(value, tuple | list):
            item = _out(item_tp)
            return [v if item is None or v is None else item(v) for v in value]
        return value

    return write


@cache
def _in(tp: Any) -> Convert | None:
    """How a decoded value (not None) of a field typed ``tp`` is read back."""
    if typing.get_origin(tp) in (Union, types.UnionType):
        arms = _arms(tp)
        records = {a.AVRO_NAME: a for a in arms if getattr(a, "AVRO_NAME", None)}
        single = _in(arms[0]) if len(arms) == 1 else None

        def read_union(value: Any) -> Any:
            if isinstance(value, tuple):  # (full_name, dict) for unions of several records
                name, body = value
                _, dot, short = name.rpartition(".")
                arm = records.get(short) if dot else None
                if arm is None:
                    raise ValueError(f"no record class for union branch {name}")
                return from_avro(arm, body)
            return single(value) if single is not None else value

        return read_union
    if isinstance(tp, type) and hasattr(tp, "AVRO_NAME"):
        return functools.partial(from_avro, tp)
    if typing.get_origin(tp) is tuple:
        item = _in(typing.get_args(tp)[0])
        return tuple if item is None else (lambda value: tuple(None if v is None else item(v) for v in value))
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return typing.cast(Convert, tp)
    return None
