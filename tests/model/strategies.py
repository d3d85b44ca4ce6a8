"""Hypothesis strategies for any model type, built from the dataclasses' type hints.

Written apart from :mod:`auditor.model.codec` (which it is used to test): every field gets
values of its declared type — text with any characters, integers over the model's whole range
(IPv6 addresses are 128-bit), every member of a union, nested dataclasses to a bounded size.
"""

from __future__ import annotations

import dataclasses
import functools
import ipaddress
import types
import typing
from typing import Any, Literal, Union

from hypothesis import strategies as st

MAX_LIST = 3
INTS = st.integers(-(1 << 128), 1 << 128)
TEXT = st.text(st.characters(exclude_categories=()), max_size=12)  # lone surrogates too (file names)
FLOATS = st.floats(allow_nan=False, allow_infinity=False)


def _network(version: int) -> st.SearchStrategy[Any]:
    bits = 32 if version == 4 else 128
    return st.tuples(st.ip_addresses(v=version), st.integers(0, bits)).map(
        lambda ap: ipaddress.ip_network(f"{ap[0]}/{ap[1]}", strict=False))


def _interface(version: int) -> st.SearchStrategy[Any]:
    bits = 32 if version == 4 else 128
    return st.tuples(st.ip_addresses(v=version), st.integers(0, bits)).map(
        lambda ap: ipaddress.ip_interface(f"{ap[0]}/{ap[1]}"))


_LEAVES: dict[Any, st.SearchStrategy[Any]] = {
    str: TEXT, int: INTS, float: FLOATS, bool: st.booleans(), type(None): st.none(),
    ipaddress.IPv4Address: st.ip_addresses(v=4), ipaddress.IPv6Address: st.ip_addresses(v=6),
    ipaddress.IPv4Network: _network(4), ipaddress.IPv6Network: _network(6),
    ipaddress.IPv4Interface: _interface(4), ipaddress.IPv6Interface: _interface(6),
}


@functools.cache
def strategy(tp: Any) -> st.SearchStrategy[Any]:
    """Values of type ``tp`` (a model dataclass or any type its fields use)."""
    if tp in _LEAVES:
        return _LEAVES[tp]
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is Literal:
        return st.sampled_from(args)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return st.lists(st.deferred(lambda: strategy(args[0])), max_size=MAX_LIST).map(tuple)
        return st.tuples(*(st.deferred(lambda a=a: strategy(a)) for a in args))
    if origin is frozenset:
        return st.frozensets(strategy(args[0]), max_size=MAX_LIST)
    if origin in (Union, types.UnionType):
        return st.one_of(*(st.deferred(lambda a=a: strategy(a)) for a in args))
    if dataclasses.is_dataclass(tp):
        hints = typing.get_type_hints(tp)
        return st.builds(tp, **{f.name: st.deferred(lambda h=hints[f.name]: strategy(h))
                                for f in dataclasses.fields(tp)})
    raise TypeError(f"no strategy for {tp}")
