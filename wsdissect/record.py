"""``@frozen_record``: a frozen, slotted dataclass whose ``__eq__``, ``__hash__`` and ``__repr__`` are made without
generating source code.

``@dataclass(frozen=True, slots=True)`` writes the source of six methods per class and compiles each with ``exec``;
for the dozen event classes that is a tenth of the command line's start-up.  Here ``dataclasses`` still makes the
class (fields, defaults, ``__init__``, frozenness, slots, pickling), and the three methods that only read the
fields are closures over an ``operator.attrgetter``: they compare, hash and print exactly what the dataclass's own
would (the same fields in the same order, the same text, ``...`` for a recursive repr).  ``dataclasses.fields``,
``asdict``, ``replace`` and ``is_dataclass`` work as on any dataclass.
"""
from __future__ import annotations

from _thread import get_ident
from dataclasses import dataclass, fields
from operator import attrgetter
from typing import Any, Callable, TypeVar

T = TypeVar("T")


def frozen_record(cls: type[T]) -> type[T]:
    """*cls* as ``@dataclass(frozen=True, slots=True)`` makes it, with the same equality, hash and repr."""
    cls = dataclass(frozen=True, slots=True, eq=False, repr=False)(cls)
    every = fields(cls)
    compared = _getter([f.name for f in every if f.compare])
    hashed = _getter([f.name for f in every if (f.compare if f.hash is None else f.hash)])
    shown = [f.name for f in every if f.repr]

    def __eq__(self: Any, other: Any) -> Any:
        if other.__class__ is self.__class__:
            return compared(self) == compared(other)
        return NotImplemented

    def __hash__(self: Any) -> int:
        return hash(hashed(self))

    running: set = set()

    def __repr__(self: Any) -> str:
        key = (id(self), get_ident())
        if key in running:
            return "..."
        running.add(key)
        try:
            return self.__class__.__qualname__ + "(" + ", ".join(
                [f"{name}={getattr(self, name)!r}" for name in shown]) + ")"
        finally:
            running.discard(key)

    for method in (__eq__, __hash__, __repr__):
        method.__qualname__ = f"{cls.__qualname__}.{method.__name__}"
        setattr(cls, method.__name__, method)
    return cls


def _getter(names: list[str]) -> Callable[[Any], tuple]:
    """The values of *names* of an object, always as a tuple (``attrgetter`` of one name gives the bare value)."""
    if len(names) > 1:
        return attrgetter(*names)
    if names:
        one = attrgetter(names[0])
        return lambda obj: (one(obj),)
    return lambda obj: ()
