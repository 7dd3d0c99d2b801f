"""Typed records: frozen dataclasses that mirror the ``.avsc`` files, and their dict form (pure core).

A record class names its Avro schema in ``AVRO_NAME``. :func:`to_avro` turns an instance
into the dict fastavro writes (unions of records as ``(full_name, dict)`` tuples);
:func:`from_avro` turns a decoded dict back into the class.
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
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
    hints = _hints(type(record))
    return {f: _out(getattr(record, f), hints[f]) for f in hints}


def from_avro(cls: type[R], value: dict[str, Any]) -> R:
    """Build ``cls`` from a decoded dict (extra fields from newer writers are ignored)."""
    hints = _hints(cls)
    kwargs = {f: _in(value[f], t) for f, t in hints.items() if f in value}
    return cls(**kwargs)


@cache
def _hints(cls: type[Any]) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def _is_union(tp: Any) -> bool:
    return typing.get_origin(tp) in (Union, types.UnionType)


def _out(value: Any, tp: Any) -> Any:
    if value is None:
        return None
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        body = to_avro(typing.cast(AvroRecord, value))
        if _is_union(tp) and _record_arms(tp) > 1:
            return (full_name(type(value)), body)  # type: ignore[arg-type]
        return body
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, tuple | list):
        (item_tp,) = typing.get_args(tp)[:1] or (Any,)
        return [_out(v, item_tp) for v in value]
    return value


def _record_arms(tp: Any) -> int:
    return sum(1 for a in typing.get_args(tp) if dataclasses.is_dataclass(a))


def _in(value: Any, tp: Any) -> Any:
    if value is None:
        return None
    if _is_union(tp):
        arms = [a for a in typing.get_args(tp) if a is not type(None)]
        if isinstance(value, tuple):  # (full_name, dict) for unions of several records
            name, body = value
            for arm in arms:
                if getattr(arm, "AVRO_NAME", None) and name.endswith("." + arm.AVRO_NAME):
                    return from_avro(arm, body)
            raise ValueError(f"no record class for union branch {name}")
        return _in(value, arms[0]) if len(arms) == 1 else value
    if isinstance(tp, type) and hasattr(tp, "AVRO_NAME"):
        return from_avro(tp, value)
    origin = typing.get_origin(tp)
    if origin is tuple:
        item_tp = typing.get_args(tp)[0]
        return tuple(_in(v, item_tp) for v in value)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return tp(value)
    return value
