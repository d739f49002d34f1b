"""Display filters in Wireshark's syntax (``-Y 'websocket.opcode == 1 && ip.addr == 10.0.0.0/8'``).

:func:`compile_filter` parses an expression once (with lark) and returns a :class:`DisplayFilter`: a plain Python
predicate built from closures, so nothing walks a tree per packet.  The predicate reads a packet through one method,
``values(name) -> sequence`` (see :mod:`wsdissect.filter_fields`); a field is present when it has a value.

Semantics follow Wireshark 4.0: a field with several values (``ip.addr``, ``tcp.port``, ``websocket.opcode`` in a
packet with several frames) satisfies ``==``, ``<``, ``contains``, ``matches`` when ANY value does; ``!=`` means
"all not equal" and ``~=`` "any not equal"; ``===`` "all equal"; a comparison on an absent field is false.
A bad expression raises :class:`DisplayFilterError` (one line, with the 1-based column).
"""
from __future__ import annotations

import functools
import operator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Protocol, Sequence

from .errors import UsageError
from .fields import FIELDS, Field, FieldType
from .filter_literals import (CHAR, STRING, WORD, Literal, LiteralError, address_int, compile_regex, convert,
                              cut_ranges, parse_slice, raw_bytes, unescape)

if TYPE_CHECKING:
    from lark import Token, Tree
    from lark.exceptions import UnexpectedInput


class FieldSource(Protocol):
    """What a predicate reads: the values a packet has for a field (empty when absent)."""

    def values(self, name: str) -> Sequence: ...


Predicate = Callable[[FieldSource], bool]


class DisplayFilterError(UsageError):
    """A display filter that cannot be compiled: ``message`` and the 1-based ``column`` where the problem is.

    A :class:`~wsdissect.errors.UsageError`, so the CLI prints it as one line and exits 2."""

    def __init__(self, message: str, column: int, expression: str = ""):
        super().__init__(f"display filter: column {column}: {message}")
        self.message = message
        self.column = column
        self.expression = expression


@dataclass(frozen=True, slots=True)
class DisplayFilter:
    """A compiled display filter: call it with a :class:`FieldSource`."""

    expression: str
    predicate: Predicate
    fields: frozenset  # the field names it reads (lets a driver skip decoding nobody asked for)

    def __call__(self, source: FieldSource) -> bool:
        return self.predicate(source)


_GRAMMAR = r"""
?start: expr
?expr: and_expr
     | expr (OR | OROR) and_expr            -> or_op
?and_expr: unary
     | and_expr (AND | ANDAND) unary        -> and_op
?unary: (NOT | BANG) unary                  -> not_op
      | "(" expr ")"
      | test
test: operand                               -> exists
    | operand cmp operand                   -> compare
    | operand IN "{" item ([","] item)* "}"       -> member
    | operand NOT IN "{" item ([","] item)* "}"   -> not_member
?operand: atom
        | atom "&" atom                     -> bitand
?atom: WORD                                 -> word
     | STRING                               -> string
     | RAWSTRING                            -> rawstring
     | CHARLIT                              -> char
     | WORD "(" operand ")"                 -> call
     | atom "[" WORD ("," WORD)* "]"        -> slice
item: atom
    | atom RANGE atom                       -> range
?cmp: SYMBOL | EQ | NE | LT | LE | GT | GE | CONTAINS | MATCHES | ANY_EQ | ALL_NE | ANY_NE | ALL_EQ
SYMBOL: "===" | "==" | "!=" | "~=" | "<=" | ">=" | "<" | ">" | "~"
EQ: "eq"
NE: "ne"
LT: "lt"
LE: "le"
GT: "gt"
GE: "ge"
CONTAINS: "contains"
MATCHES: "matches"
ANY_EQ: "any_eq"
ALL_NE: "all_ne"
ANY_NE: "any_ne"
ALL_EQ: "all_eq"
AND: "and"
OR: "or"
NOT: "not"
IN: "in"
ANDAND: "&&"
OROR: "||"
BANG: "!"
RANGE: ".."
WORD: /[A-Za-z0-9_.:\/+-]+/
STRING: /"(?:[^"\\]|\\.)*"/s
RAWSTRING.2: /r"[^"]*"/
CHARLIT: /'(?:[^'\\]|\\.)*'/
%ignore /[ \t\r\n]+/
"""



@functools.lru_cache(maxsize=1)
def _parser():
    """The LALR parser, built on first use (building it costs a CLI start that uses no filter ~0.1 s)."""
    from lark import Lark

    return Lark(_GRAMMAR, parser="lalr", lexer="basic", maybe_placeholders=False)

_OPS = {"==": "any_eq", "eq": "any_eq", "any_eq": "any_eq", "!=": "all_ne", "ne": "all_ne", "all_ne": "all_ne",
        "~=": "any_ne", "any_ne": "any_ne", "===": "all_eq", "all_eq": "all_eq", "<": "lt", "lt": "lt",
        "<=": "le", "le": "le", ">": "gt", "gt": "gt", ">=": "ge", "ge": "ge", "contains": "contains",
        "matches": "matches", "~": "matches"}
_MIRROR = {"lt": "gt", "gt": "lt", "le": "ge", "ge": "le"}
_ORDER = {"lt": operator.lt, "le": operator.le, "gt": operator.gt, "ge": operator.ge}
_ADDRESSES = (FieldType.IPV4, FieldType.IPV6)
_ORDERED = (FieldType.UINT, FieldType.STRING, FieldType.BYTES, FieldType.TIME, FieldType.FLOAT, FieldType.IPV4,
            FieldType.IPV6, FieldType.BOOL)


def compile_filter(expression: str) -> DisplayFilter:
    """Compile *expression*; a blank one matches every packet.  Raises :class:`DisplayFilterError`."""
    if not expression.strip():
        return DisplayFilter(expression, lambda source: True, frozenset())
    from lark.exceptions import UnexpectedInput

    try:
        tree = _parser().parse(expression)
    except UnexpectedInput as e:
        raise _syntax_error(e, expression) from None
    compiler = _Compiler(expression)
    predicate = compiler.node(tree)
    return DisplayFilter(expression, predicate, frozenset(compiler.used))


def _syntax_error(e: UnexpectedInput, expression: str) -> DisplayFilterError:
    from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedToken

    if isinstance(e, UnexpectedEOF) or (isinstance(e, UnexpectedToken) and e.token.type == "$END"):
        return DisplayFilterError("Unexpected end of filter expression.", len(expression) + 1, expression)
    if isinstance(e, UnexpectedCharacters):
        ch = expression[e.pos_in_stream]
        if ch in "\"'":
            return DisplayFilterError("The final quote was missing from a quoted string.", len(expression) + 1,
                                      expression)
        return DisplayFilterError(f'"{ch}" was unexpected in this context.', e.pos_in_stream + 1, expression)
    token = e.token  # UnexpectedToken
    return DisplayFilterError(f'"{token}" was unexpected in this context.', token.start_pos + 1, expression)


@dataclass(frozen=True, slots=True)
class _Operand:
    """One side of a test: a field (or a function of one) with a getter, or a literal."""

    text: str
    pos: int
    field: Field | None = None
    get: Callable[[FieldSource], Sequence] | None = None
    literal: Literal | None = None
    masked: bool = False  # ``field & mask``: "present" means a non-zero result


def _values_getter(name: str) -> Callable[[FieldSource], Sequence]:
    return lambda source: source.values(name)


_FUNCTIONS = {  # name -> (argument types, result type, function of the value list)
    "len": ((FieldType.STRING, FieldType.BYTES), FieldType.UINT, lambda vals: [len(v) for v in vals]),
    "count": (None, FieldType.UINT, lambda vals: [len(vals)]),
    "lower": ((FieldType.STRING,), FieldType.STRING, lambda vals: [v.lower() for v in vals]),
    "upper": ((FieldType.STRING,), FieldType.STRING, lambda vals: [v.upper() for v in vals]),
}


class _Compiler:
    """Turns the parse tree into closures, checking names, types and literals on the way."""

    def __init__(self, expression: str):
        self.expression = expression
        self.used: set[str] = set()

    def error(self, message: str, pos: int) -> DisplayFilterError:
        return DisplayFilterError(message, pos + 1, self.expression)

    def node(self, tree: Tree) -> Predicate:
        return getattr(self, "_" + tree.data)(tree)

    # -- logic ----------------------------------------------------------------------------------------------
    def _or_op(self, tree: Tree) -> Predicate:
        a, b = self.node(tree.children[0]), self.node(tree.children[2])
        return lambda s: a(s) or b(s)

    def _and_op(self, tree: Tree) -> Predicate:
        a, b = self.node(tree.children[0]), self.node(tree.children[2])
        return lambda s: a(s) and b(s)

    def _not_op(self, tree: Tree) -> Predicate:
        a = self.node(tree.children[1])
        return lambda s: not a(s)

    # -- operands -------------------------------------------------------------------------------------------
    def operand(self, tree) -> _Operand:
        kind = tree.data
        if kind == "bitand":
            return self._mask(tree)
        if kind == "call":
            return self._call(tree)
        if kind == "slice":
            return self._slice(tree)
        token: Token = tree.children[0]
        text = str(token)
        if kind == "word":
            f = FIELDS.get(text)
            if f is not None:
                self.used.add(text)
                return _Operand(text, token.start_pos, field=f, get=_values_getter(text))
            return _Operand(text, token.start_pos, literal=Literal(text, WORD, token.start_pos, len(text)))
        if kind == "string":
            body = unescape(text[1:-1])
        elif kind == "rawstring":
            body, kind = text[2:-1], "string"
        else:
            body = unescape(text[1:-1])
            if len(body) != 1:
                raise self.error(f"{text} is not a valid character constant.", token.start_pos)
        return _Operand(text, token.start_pos,
                        literal=Literal(body, STRING if kind == "string" else CHAR, token.start_pos, len(text)))

    def field_operand(self, tree, what: str) -> _Operand:
        op = self.operand(tree)
        if op.field is None:
            raise self.error(f"{op.text} is neither a field nor a protocol name." if op.literal.kind == WORD
                             else f"{op.text} cannot be used {what}.", op.pos)
        return op

    def _call(self, tree: Tree) -> _Operand:
        name_token = tree.children[0]
        spec = _FUNCTIONS.get(str(name_token))
        if spec is None:
            raise self.error(f"Function '{name_token}' does not exist.", name_token.start_pos)
        arg = self.field_operand(tree.children[1], "as a function argument")
        types, result, fn = spec
        if types is not None and arg.field.type not in types:
            raise self.error(f"{arg.text} (type={arg.field.type.value}) cannot be an argument of "
                             f"{name_token}().", arg.pos)
        get = arg.get
        text = f"{name_token}({arg.text})"
        return _Operand(text, name_token.start_pos, field=Field(text, result, text),
                        get=lambda s: fn(get(s)))

    def _slice(self, tree: Tree) -> _Operand:
        arg = self.field_operand(tree.children[0], "with [...]")
        if arg.field.type not in (FieldType.BYTES, FieldType.STRING):
            raise self.error(f'"{arg.text}" is a {arg.field.type.value} and cannot be sliced into a sequence of '
                             "bytes.", arg.pos)
        ranges = []
        for token in tree.children[1:]:
            r = parse_slice(str(token))
            if r is None:
                raise self.error(f'"{token}" is not a valid range.', token.start_pos)
            ranges.append(r)
        get, encode = arg.get, arg.field.type is FieldType.STRING
        text = f"{arg.text}[{','.join(map(str, tree.children[1:]))}]"

        def sliced(s: FieldSource) -> list[bytes]:
            out = []
            for v in get(s):
                cut = cut_ranges(raw_bytes(v) if encode else v, ranges)
                if cut is not None:
                    out.append(cut)
            return out
        return _Operand(text, arg.pos, field=Field(text, FieldType.BYTES, text), get=sliced)

    def _mask(self, tree: Tree) -> _Operand:
        left = self.field_operand(tree.children[0], "with &")
        right = self.operand(tree.children[1])
        if left.field.type is not FieldType.UINT or right.literal is None:
            raise self.error(f"{left.text} & {right.text}: a bitwise and needs an integer field and a number.",
                             left.pos)
        mask = self.convert(left.field, right.literal)
        get = left.get
        text = f"{left.text} & {right.text}"
        return _Operand(text, left.pos, field=Field(text, FieldType.UINT, text),
                        get=lambda s: [v & mask for v in get(s)], masked=True)

    def convert(self, f: Field, lit: Literal):
        try:
            return convert(f, lit)
        except LiteralError as e:
            raise self.error(str(e), lit.pos) from None

    # -- tests ----------------------------------------------------------------------------------------------
    def _exists(self, tree: Tree) -> Predicate:
        op = self.field_operand(tree.children[0], "as a test on its own")
        get = op.get
        if op.masked:
            return lambda s: any(get(s))
        return lambda s: bool(get(s))

    def _compare(self, tree: Tree) -> Predicate:
        lhs, rhs = self.operand(tree.children[0]), self.operand(tree.children[2])
        op_token: Token = tree.children[1]
        op = _OPS[str(op_token)]
        if lhs.field is None and rhs.field is None:
            if lhs.literal.kind == WORD:
                raise self.error(f"{lhs.text} is neither a field nor a protocol name.", lhs.pos)
            raise self.error("Constant expression is invalid.", lhs.pos)
        if lhs.field is None:
            if op in ("contains", "matches"):
                raise self.error(f"{lhs.text} is neither a field nor a protocol name.", lhs.pos)
            lhs, rhs, op = rhs, lhs, _MIRROR.get(op, op)
        self.check_operator(lhs, op, op_token)
        if rhs.field is not None:
            return _field_pair(lhs, rhs, op, self)
        return _field_literal(lhs, rhs.literal, op, self)

    def check_operator(self, lhs: _Operand, op: str, op_token: Token) -> None:
        t = lhs.field.type
        ok = (t.has_value if op in ("any_eq", "all_ne", "any_ne", "all_eq") else
              t in (FieldType.STRING, FieldType.BYTES) if op in ("contains", "matches") else t in _ORDERED)
        if not ok:
            raise self.error(f"{lhs.text} (type={t.value}) cannot participate in '{op_token}' comparison.",
                             lhs.pos)

    def _member(self, tree: Tree) -> Predicate:
        return self.membership(tree.children[0], tree.children[2:])

    def _not_member(self, tree: Tree) -> Predicate:
        inner = self.membership(tree.children[0], tree.children[3:])
        return lambda s: not inner(s)

    def membership(self, operand: Tree, items: list) -> Predicate:
        lhs = self.field_operand(operand, "with in")
        if not lhs.field.type.has_value:
            raise self.error(f"{lhs.text} (type={lhs.field.type.value}) cannot participate in 'in' comparison.",
                             lhs.pos)
        tests = [self._item(lhs.field, item) for item in items]
        get = lhs.get
        return lambda s: any(t(v) for v in get(s) for t in tests)

    def _item(self, f: Field, item: Tree) -> Callable[[object], bool]:
        first = self.operand(item.children[0])
        if first.literal is None:
            raise self.error(f"{first.text}: set elements must be values.", first.pos)
        if item.data == "range":
            last = self.operand(item.children[2])
            if last.literal is None:
                raise self.error(f"{last.text}: set elements must be values.", last.pos)
            return _between(f, self.convert(f, first.literal), self.convert(f, last.literal))
        text = first.literal.text
        if first.literal.kind == WORD and ".." in text and f.type is not FieldType.STRING:
            lo, hi = text.split("..", 1)
            pos = first.pos
            return _between(f, self.convert(f, Literal(lo, WORD, pos, len(lo))),
                            self.convert(f, Literal(hi, WORD, pos + len(lo) + 2, len(hi))))
        return _equal_test(f, self.convert(f, first.literal))


def _between(f: Field, lo, hi) -> Callable[[object], bool]:
    if f.type in _ADDRESSES:
        lo, hi = lo[0], hi[1]
        return lambda v: lo <= address_int(v) <= hi
    return lambda v: lo <= v <= hi


def _equal_test(f: Field, key) -> Callable[[object], bool]:
    if f.type in _ADDRESSES:
        lo, hi = key
        return lambda v: lo <= address_int(v) <= hi
    return lambda v: v == key


def _field_literal(lhs: _Operand, lit: Literal, op: str, c: _Compiler) -> Predicate:
    """A field (or function of one) against a literal: one test per value, quantified as *op* says."""
    f, get = lhs.field, lhs.get
    if op == "matches":
        try:
            search = compile_regex(lit, f.type is FieldType.BYTES).search
        except LiteralError as e:
            raise c.error(str(e), lit.pos) from None
        return lambda s: any(search(v) for v in get(s))
    key = c.convert(f, lit)
    if op == "contains":
        return lambda s: any(key in v for v in get(s))
    if op in _ORDER:
        cmp = _ORDER[op]
        if f.type in _ADDRESSES:
            if key[0] != key[1]:
                raise c.error(f'"{lit.text}": a subnet cannot be ordered.', lit.pos)
            a = key[0]
            return lambda s: any(cmp(address_int(v), a) for v in get(s))
        return lambda s: any(cmp(v, key) for v in get(s))
    eq = _equal_test(f, key)
    if op == "any_eq":
        if f.type in _ADDRESSES:
            return lambda s: any(map(eq, get(s)))
        return lambda s: key in get(s)
    if op == "any_ne":
        return lambda s: not all(map(eq, get(s)))
    if op == "all_eq":
        return _all(get, eq)
    return _all(get, lambda v: not eq(v))  # all_ne


def _all(get: Callable[[FieldSource], Sequence], test: Callable[[object], bool]) -> Predicate:
    def predicate(s: FieldSource) -> bool:
        vals = get(s)
        return bool(vals) and all(map(test, vals))
    return predicate


def _field_pair(lhs: _Operand, rhs: _Operand, op: str, c: _Compiler) -> Predicate:
    """Field against field: pairs of values, any pair (all pairs for ``!=`` and ``===``)."""
    ta, tb = lhs.field.type, rhs.field.type
    if ta is not tb and {ta, tb} != {FieldType.TIME, FieldType.FLOAT}:
        raise c.error(f"{lhs.text} and {rhs.text} are not of compatible types.", rhs.pos)
    if op == "matches":
        raise c.error(f"{rhs.text}: matches needs a string, not a field.", rhs.pos)
    conv = address_int if ta in _ADDRESSES else (lambda v: v)
    test = {"any_eq": operator.eq, "all_eq": operator.eq, "any_ne": operator.ne, "all_ne": operator.ne,
            "contains": lambda a, b: b in a, **_ORDER}[op]
    ga, gb = lhs.get, rhs.get

    def pairs(s: FieldSource):
        bs = [conv(b) for b in gb(s)]
        return [(conv(a), b) for a in ga(s) for b in bs]

    if op in ("all_eq", "all_ne"):
        return lambda s: bool(p := pairs(s)) and all(test(a, b) for a, b in p)
    return lambda s: any(test(a, b) for a, b in pairs(s))
