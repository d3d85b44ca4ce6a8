"""Model objects as plain JSON data and back, exactly.

Driven by the dataclasses' own type hints, so a field added to the model is carried without
touching this module. Conventions:

* a dataclass is an object of its fields; fields equal to their default are left out;
* a value of a union of several dataclasses (a :data:`~auditor.model.ruleset.Match`, a
  :data:`~auditor.model.ruleset.Statement`) carries its class name under ``"@type"``;
* tuples and frozensets are lists (frozensets sorted, so equal sets encode equally);
* addresses, networks and interfaces (``ipaddress``) are their text; ``Literal`` values, text,
  integers, floats, booleans and ``None`` are themselves.

:func:`decode` is strict, for data that is hostile input: every object must have exactly the
fields of its class (unknown ones are refused, missing ones must have a default), every value
the declared type (a boolean is not an integer; integers are bounded by 2^128, larger than any
address), a ``"@type"`` must name a member of the declared union. A :class:`DecodeError` gives
the path to the offending value, for a message such as ``at /ruleset/tables/0/name: expected
text``. Only classes reachable from the requested type's hints are ever instantiated.
"""

from __future__ import annotations

import dataclasses
import functools
import ipaddress
import types
import typing
from collections.abc import Callable
from typing import Any, Literal, TypeVar, Union

T = TypeVar("T")
TAG = "@type"
#: Integers beyond this magnitude are refused (IPv6 addresses are the largest the model holds).
MAX_MAGNITUDE = 1 << 128

Path = tuple[str | int, ...]
_Decoder = Callable[[Any, Path], Any]
_Encoder = Callable[[Any], Any]
_IP_TYPES = (ipaddress.IPv4Address, ipaddress.IPv6Address, ipaddress.IPv4Network, ipaddress.IPv6Network,
             ipaddress.IPv4Interface, ipaddress.IPv6Interface)


class DecodeError(ValueError):
    """Data that is not a valid encoding of the requested type; ``path`` leads to the value.
    ``wrong_value``: the value has the right JSON type but is not allowed (out of range, not
    one of the literals, not an address)."""

    def __init__(self, path: Path, message: str, *, wrong_value: bool = False) -> None:
        super().__init__(message)
        self.path = path
        self.message = message
        self.wrong_value = wrong_value

    @property
    def where(self) -> str:
        return "/" + "/".join(str(p) for p in self.path)


def encode(value: Any, tp: Any = None) -> Any:
    """``value`` (of type ``tp``, by default its own class) as JSON data."""
    kind: Any = type(value) if tp is None else tp
    return _encoder(kind)(value)


def decode(tp: type[T], data: Any) -> T:
    """The ``tp`` that ``data`` encodes; :class:`DecodeError` if it encodes none."""
    kind: Any = tp
    return typing.cast(T, _decoder(kind)(data, ()))


# ---------------------------------------------------------------------------------------------
# Types
# ---------------------------------------------------------------------------------------------


def _is_union(tp: Any) -> bool:
    return typing.get_origin(tp) in (Union, types.UnionType)


def _is_dataclass(tp: Any) -> typing.TypeGuard[type]:
    """Whether ``tp`` is a dataclass (the class, not an instance)."""
    return isinstance(tp, type) and dataclasses.is_dataclass(tp)


@functools.cache
def _fields(cls: type) -> tuple[tuple[str, Any, bool, Any], ...]:
    """(name, type, has a default, the default) of each field of a dataclass."""
    hints = typing.get_type_hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        if f.default is not dataclasses.MISSING:
            out.append((f.name, hints[f.name], True, f.default))
        elif f.default_factory is not dataclasses.MISSING:
            out.append((f.name, hints[f.name], True, f.default_factory()))
        else:
            out.append((f.name, hints[f.name], False, None))
    return tuple(out)


def _describe(tp: Any) -> str:
    if tp is type(None):
        return "null"
    if tp is str:
        return "text"
    if tp is bool:
        return "true or false"
    if tp is int:
        return "an integer"
    if tp is float:
        return "a number"
    if tp in _IP_TYPES:
        return f"an {tp.__name__.replace('IPv4', 'IPv4 ').replace('IPv6', 'IPv6 ').lower()}"
    origin = typing.get_origin(tp)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(tp))
    if origin in (tuple, frozenset):
        return "a list"
    if _is_union(tp):
        return " or ".join(_describe(a) for a in typing.get_args(tp))
    if _is_dataclass(tp):
        return f"an object ({tp.__name__})"
    return str(tp)


# ---------------------------------------------------------------------------------------------
# Encoding
# ---------------------------------------------------------------------------------------------


def _identity(value: Any) -> Any:
    return value


@functools.cache
def _encoder(tp: Any) -> _Encoder:
    origin = typing.get_origin(tp)
    if tp in (str, int, float, bool, type(None)) or origin is Literal:
        return _identity
    if tp in _IP_TYPES:
        return str
    if origin is tuple:
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            item = _encoder(args[0])
            return lambda v: [item(x) for x in v]
        items = tuple(_encoder(a) for a in args)
        return lambda v: [e(x) for e, x in zip(items, v, strict=True)]
    if origin is frozenset:
        item = _encoder(typing.get_args(tp)[0])
        return lambda v: sorted((item(x) for x in v), key=lambda x: (type(x).__name__, x))
    if _is_union(tp):
        return _union_encoder(tp)
    if _is_dataclass(tp):
        return _dataclass_encoder(tp)
    raise TypeError(f"cannot encode values of type {tp}")


def _union_encoder(tp: Any) -> _Encoder:
    members = typing.get_args(tp)
    tagged = sum(1 for m in members if _is_dataclass(m)) > 1

    def encode_member(value: Any) -> Any:
        for m in members:
            if _holds(m, value):
                data = _encoder(m)(value)
                return {TAG: type(value).__name__, **data} if tagged and _is_dataclass(m) else data
        raise TypeError(f"{value!r} is not a {tp}")

    return encode_member


def _holds(tp: Any, value: Any) -> bool:
    """Whether ``value`` is of the union member ``tp`` (to pick its encoder)."""
    origin = typing.get_origin(tp)
    if tp is type(None):
        return value is None
    if origin is Literal:
        return value in typing.get_args(tp)
    if origin is not None:
        return isinstance(value, origin)
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, tp)


def _dataclass_encoder(cls: type) -> _Encoder:
    def encode_fields(value: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, tp, has_default, default in _fields(cls):
            v = getattr(value, name)
            if has_default and type(v) is type(default) and v == default:
                continue
            out[name] = _encoder(tp)(v)
        return out

    return encode_fields


# ---------------------------------------------------------------------------------------------
# Decoding
# ---------------------------------------------------------------------------------------------


@functools.cache
def _decoder(tp: Any) -> _Decoder:
    origin = typing.get_origin(tp)
    if tp is str:
        return _typed(str, tp)
    if tp is bool:
        return _typed(bool, tp)
    if tp is int:
        return _integer
    if tp is float:
        return _number
    if tp is type(None):
        return _null
    if origin is Literal:
        return _literal(tp)
    if tp in _IP_TYPES:
        return _ip(tp)
    if origin is tuple:
        return _tuple(tp)
    if origin is frozenset:
        item = _decoder(typing.get_args(tp)[0])
        return lambda data, path: frozenset(item(x, (*path, i)) for i, x in enumerate(_list(data, path, tp)))
    if _is_union(tp):
        return _union(tp)
    if _is_dataclass(tp):
        return _dataclass(tp)
    raise TypeError(f"cannot decode values of type {tp}")


def _typed(kind: type, tp: Any) -> _Decoder:
    def check(data: Any, path: Path) -> Any:
        if type(data) is not kind:
            raise DecodeError(path, f"expected {_describe(tp)}")
        return data

    return check


def _integer(data: Any, path: Path) -> int:
    if type(data) is not int:
        raise DecodeError(path, "expected an integer")
    if abs(data) > MAX_MAGNITUDE:
        raise DecodeError(path, "integer out of range", wrong_value=True)
    return data


def _number(data: Any, path: Path) -> float:
    if type(data) is int and abs(data) <= MAX_MAGNITUDE:
        return float(data)
    if type(data) is float and data - data == 0:  # finite: inf - inf and nan - nan are nan
        return data
    raise DecodeError(path, "expected a finite number", wrong_value=type(data) in (int, float))


def _null(data: Any, path: Path) -> None:
    if data is not None:
        raise DecodeError(path, "expected null")


def _literal(tp: Any) -> _Decoder:
    allowed = typing.get_args(tp)

    def check(data: Any, path: Path) -> Any:
        for a in allowed:
            if type(data) is type(a) and data == a:
                return a
        raise DecodeError(path, f"expected {_describe(tp)}", wrong_value=any(type(data) is type(a) for a in allowed))

    return check


def _ip(tp: Any) -> _Decoder:
    def parse(data: Any, path: Path) -> Any:
        if type(data) is not str:
            raise DecodeError(path, f"expected {_describe(tp)}")
        try:
            value = tp(data)
        except ValueError:
            raise DecodeError(path, f"expected {_describe(tp)}") from None
        if str(value) != data:  # one spelling per value: the one str() gives
            raise DecodeError(path, f"expected {_describe(tp)} written as {value}", wrong_value=True)
        return value

    return parse


def _list(data: Any, path: Path, tp: Any) -> list[Any]:
    if type(data) is not list:
        raise DecodeError(path, f"expected {_describe(tp)}")
    return data


def _tuple(tp: Any) -> _Decoder:
    args = typing.get_args(tp)
    if len(args) == 2 and args[1] is Ellipsis:
        item = _decoder(args[0])
        return lambda data, path: tuple(item(x, (*path, i)) for i, x in enumerate(_list(data, path, tp)))
    items = tuple(_decoder(a) for a in args)

    def fixed(data: Any, path: Path) -> tuple[Any, ...]:
        values = _list(data, path, tp)
        if len(values) != len(items):
            raise DecodeError(path, f"expected a list of {len(items)}")
        return tuple(d(x, (*path, i)) for i, (d, x) in enumerate(zip(items, values, strict=True)))

    return fixed


def _shape(tp: Any) -> tuple[type, ...]:
    """The JSON types a value of ``tp`` is encoded as."""
    origin = typing.get_origin(tp)
    if tp is float:
        return (int, float)
    if tp in _IP_TYPES:
        return (str,)
    if origin is Literal:
        return tuple({type(a) for a in typing.get_args(tp)})
    if origin in (tuple, frozenset):
        return (list,)
    if _is_dataclass(tp):
        return (dict,)
    return (tp,)


def _union(tp: Any) -> _Decoder:
    members = typing.get_args(tp)
    classes = {m.__name__: m for m in members if _is_dataclass(m)}
    tagged = len(classes) > 1
    others = tuple(m for m in members if not (tagged and _is_dataclass(m)))
    shapes = [(m, _shape(m)) for m in others]

    def pick(data: Any, path: Path) -> Any:
        if tagged and type(data) is dict and TAG in data:
            name = data[TAG]
            cls = classes.get(name) if type(name) is str else None
            if cls is None:
                raise DecodeError((*path, TAG), "expected one of " + ", ".join(sorted(classes)))
            return _dataclass(cls, tagged=True)(data, path)
        for m in (m for m, shape in shapes if type(data) in shape):  # the first member that takes it
            try:
                return _decoder(m)(data, path)
            except DecodeError as e:
                if e.wrong_value or len(e.path) > len(path):  # of this member's shape, and wrong: that is the error
                    raise
        described = [f"an object with {TAG} {n}" for n in sorted(classes)] if tagged else []
        raise DecodeError(path, "expected " + " or ".join(described + [_describe(m) for m in others]))

    return pick


def _dataclass(cls: type, *, tagged: bool = False) -> _Decoder:
    fields = _fields(cls)
    names = {name for name, _, _, _ in fields} | ({TAG} if tagged else set())

    def build(data: Any, path: Path) -> Any:
        if type(data) is not dict:
            raise DecodeError(path, f"expected {_describe(cls)}")
        for key in data:
            if key not in names:
                raise DecodeError(path, f"unknown field {str(key)[:40]!r} for {cls.__name__}")
        kwargs = {}
        for name, tp, has_default, _ in fields:
            if name in data:
                kwargs[name] = _decoder(tp)(data[name], (*path, name))
            elif not has_default:
                raise DecodeError(path, f"missing field {name!r} of {cls.__name__}")
        return cls(**kwargs)

    return build
