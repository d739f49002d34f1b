"""``@frozen_record`` classes behave exactly as ``@dataclass(frozen=True, slots=True)`` would make them: the same
fields, constructor, equality, hash, repr, frozenness and pickling (checked against a reference dataclass built
from the same fields by ``dataclasses.make_dataclass``)."""
from __future__ import annotations

import dataclasses
import pickle
from typing import Optional

import pytest

from wsdissect import events
from wsdissect.app import units
from wsdissect.findings import FindingKind
from wsdissect.http.stream import Head
from wsdissect.record import frozen_record
from wsdissect.tls.keylog import KeyLogWarning
from wsdissect.tls.records import StreamProblem

RECORDS = sorted({cls for cls in vars(events).values() if isinstance(cls, type) and dataclasses.is_dataclass(cls)
                  and cls.__module__ == events.__name__}
                 | {units.AppUnit, units.AppResult, units.MessageRef, FindingKind, Head, KeyLogWarning,
                    StreamProblem}, key=lambda cls: cls.__qualname__)


def _reference(cls: type) -> type:
    """The class ``@dataclass(frozen=True, slots=True)`` makes from *cls*'s fields."""
    spec = [(f.name, f.type, dataclasses.field(default=f.default, default_factory=f.default_factory, init=f.init,
                                               repr=f.repr, hash=f.hash, compare=f.compare))
            for f in dataclasses.fields(cls)]
    return dataclasses.make_dataclass(cls.__qualname__, spec, frozen=True, slots=True)


def _values(cls: type, salt: int) -> dict:
    """Distinct values for every field of *cls* (of mixed types: strings, numbers, None, tuples, bytes)."""
    kinds = [lambda i: f"v{i}'\n", lambda i: i * 7 + salt, lambda i: None, lambda i: (i, "x"), lambda i: bytes([i])]
    return {f.name: kinds[(i + salt) % len(kinds)](i + salt) for i, f in enumerate(dataclasses.fields(cls))}


@pytest.mark.parametrize("cls", RECORDS, ids=lambda cls: cls.__qualname__)
def test_same_behaviour_as_the_dataclass(cls: type) -> None:
    ref = _reference(cls)
    assert dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen and "__dict__" not in dir(cls)
    assert [(f.name, f.default, f.default_factory) for f in dataclasses.fields(cls)] == \
        [(f.name, f.default, f.default_factory) for f in dataclasses.fields(ref)]
    assert cls.__match_args__ == ref.__match_args__
    for salt in range(3):
        a, b = _values(cls, salt), _values(cls, salt + 1)
        mine, theirs = cls(**a), ref(**a)
        assert repr(mine) == repr(theirs)
        assert hash(mine) == hash(theirs)
        assert mine == cls(**a) and not mine != cls(**a)
        assert (mine == cls(**b)) == (theirs == ref(**b))
        assert mine != theirs and mine.__eq__(theirs) is NotImplemented
        for name in a:  # one field changed: unequal, as the reference
            changed = dataclasses.replace(mine, **{name: b[name]})
            assert (changed == mine) == (dataclasses.replace(theirs, **{name: b[name]}) == theirs)
        assert dataclasses.asdict(mine) == dataclasses.asdict(theirs)
        assert pickle.loads(pickle.dumps(mine)) == mine
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(mine, next(iter(a)), 1)


@frozen_record
class _Node:
    """A record that can hold itself (through a list)."""

    name: str
    children: list
    hidden: int = dataclasses.field(default=0, repr=False, compare=False)
    label: Optional[str] = dataclasses.field(default=None, hash=False)


def test_field_options_and_a_recursive_repr() -> None:
    node = _Node("a", [])
    node.children.append(node)
    assert repr(node) == "_Node(name='a', children=[...], label=None)"
    assert _Node("a", [], 1) == _Node("a", [], 2)  # compare=False
    assert hash(_Node("b", (), 0, "x")) == hash(_Node("b", (), 0, "y")) == hash(("b", ()))  # hash=False
    assert _Node("b", (), 0, "x") != _Node("b", (), 0, "y")
