"""Display filters (-Y): parsing, error columns and Wireshark 4.0 semantics, on synthetic field sets."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wsdissect.display_filter import DisplayFilterError, compile_filter
from wsdissect.errors import UsageError


class Fields:
    """A packet as a plain dict of field name -> values."""

    def __init__(self, **values):
        self.map = {k.replace("__", "."): v for k, v in values.items()}

    def values(self, name):
        return self.map.get(name, ())


WS_PACKET = Fields(
    frame=[True], frame__number=[7], frame__len=[120], frame__time_relative=[0.25], tcp=[True],
    tcp__port=[51000, 8765], tcp__srcport=[51000], tcp__dstport=[8765], tcp__stream=[2], tcp__flags=[0x18],
    tcp__flags__syn=[False], tcp__flags__ack=[True], ip=[True], ip__addr=["10.1.2.3", "192.168.0.9"],
    ip__src=["10.1.2.3"], ip__dst=["192.168.0.9"], websocket=[True], websocket__opcode=[1, 9],
    websocket__fin=[True, True], websocket__mask=[True, True], websocket__payload=[b"Hello World", b"\x00\x01"],
    websocket__payload__text=["Hello World"], ws__finding=["ws.frame.rsv"], _ws__expert=[True],
    _ws__expert__severity=[0x00800000])
HTTP_PACKET = Fields(
    frame=[True], frame__number=[4], tcp=[True], tcp__port=[51000, 8765], ipv6=[True],
    ipv6__addr=["fe80::1", "2001:db8::5"], http=[True], http__request=[True], http__request__method=["GET"],
    http__request__uri=["/chat?room=1"], http__host=["example.org"])


def sel(expr: str, packet=WS_PACKET) -> bool:
    return compile_filter(expr)(packet)


@pytest.mark.parametrize("expr, ws, http", [
    ("websocket", True, False),
    ("http", False, True),
    ("!websocket", False, True),
    ("not http and tcp", True, False),
    ("tcp.port == 8765", True, True),
    ("tcp.port eq 8765", True, True),
    ("tcp.port != 8765", False, False),  # all_ne: one of the ports is 8765
    ("tcp.port ~= 8765", True, True),  # any_ne
    ("tcp.port === 8765", False, False),  # all_eq
    ("tcp.port != 80", True, True),
    ("websocket.opcode != 1", False, False),  # absent field: every comparison is false
    ("tcp.srcport > tcp.dstport", True, False),
    ("tcp.port < 1024 || frame.number <= 4", False, True),
    ("frame.number ge 7 && frame.number lt 8", True, False),
    ("websocket.opcode == 9", True, False),
    ("websocket.opcode == \"Ping\"", True, False),
    ("websocket.opcode == '\\x09'", True, False),
    ("websocket.opcode in {8, 9, 10}", True, False),
    ("websocket.opcode in {2..8}", False, False),
    ("websocket.opcode in {2 .. 9}", True, False),
    ("websocket.opcode not in {1, 9}", False, True),
    ("websocket.payload contains \"lo Wo\"", True, False),
    ("websocket.payload contains 00:01", True, False),
    ("websocket.payload contains 48-65-6c", True, False),
    ("websocket.payload matches \"^hello\"", True, False),  # case-insensitive by default, as in Wireshark 4.0
    ("websocket.payload matches \"(?-i)^hello\"", False, False),
    ("websocket.payload.text matches \"W.r\"", True, False),
    ("http.request.uri contains \"room\"", False, True),
    ("http.request.method == GET", False, True),
    ("http.request.method in {\"POST\", \"GET\"}", False, True),
    ("http.host == r\"example.org\"", False, True),
    ("ip.addr == 10.0.0.0/8", True, False),
    ("ip.addr == 192.168.0.9", True, False),
    ("ip.src == 192.168.0.0/16", False, False),
    ("ip.addr in {172.16.0.0/12, 192.168.0.0/16}", True, False),
    ("ipv6.addr == 2001:db8::/32", False, True),
    ("ipv6.addr == fe80::1", False, True),
    ("tcp.flags.syn == 0 && tcp.flags.ack == True", True, False),
    ("tcp.flags.syn", True, False),  # a boolean field is present when false
    ("tcp.flags & 0x10", True, False),
    ("tcp.flags & 0x02", False, False),
    ("tcp.flags & 0x18 == 0x18", True, False),
    ("tcp.stream == 0x2 and tcp.stream == 02", True, False),
    ("frame.time_relative < 0.5", True, False),
    ("len(http.request.method) == 3", False, True),
    ("upper(http.host) contains \"EXAMPLE\"", False, True),
    ("count(websocket.opcode) == 2", True, False),
    ("ws.finding == \"ws.frame.rsv\"", True, False),
    ("_ws.expert.severity >= \"Warning\"", True, False),
    ("_ws.expert.severity == 8388608", True, False),
    ("8765 == tcp.dstport", True, False),
    ("9000 > tcp.dstport", True, False),
    ("(websocket || http) && !(frame.number == 4)", True, False),
    ("frame.number == 1 || frame.number == 7 && tcp", True, False),
    ("ws.app.protocol", False, False),
    ("websocket.payload[0:5] == \"Hello\"", True, False),
    ("websocket.payload[0-1] == 00:01", True, False),
    ("websocket.payload[-5:] == \"World\"", True, False),
    ("websocket.payload[6] == 57", True, False),
    ("websocket.payload[0:1,6:1] == \"HW\"", True, False),
    ("websocket.payload[10:5]", False, False),  # out of range: no value
    ("http.request.uri[:5] == \"/chat\"", False, True),
])
def test_semantics(expr, ws, http):
    assert (sel(expr), sel(expr, HTTP_PACKET)) == (ws, http)


def test_and_binds_tighter_than_or():
    assert sel("frame.number == 7 || frame.number == 3 && frame.number == 5")
    assert not sel("(frame.number == 7 || frame.number == 3) && frame.number == 5")


def test_fields_used_are_reported():
    assert compile_filter("websocket.opcode == 1 or len(http.host) > 2").fields == {"websocket.opcode", "http.host"}


def test_blank_filter_selects_everything():
    assert compile_filter("  ")(Fields())


@pytest.mark.parametrize("expr, column, message", [
    ("tcp.port ==", 12, "Unexpected end of filter expression."),
    ("foo", 1, "foo is neither a field nor a protocol name."),
    ("tcp.port == 80 and bogus.field", 20, "bogus.field is neither a field nor a protocol name."),
    ("websocket.close.code == 1000", 1, "websocket.close.code is neither a field nor a protocol name."),
    ("tcp.port == 0x", 13, '"0x" is not a valid number.'),
    ("frame.number == 1.5", 17, '"1.5" is not a valid number.'),
    ("tcp.port == 99999", 13, '"99999" too big for this field, maximum 65535.'),
    ("websocket.opcode == 256", 21, '"256" cannot be found among the possible values for websocket.opcode.'),
    ("websocket.payload_length_ext_64 == 18446744073709551616", 36,
     '"18446744073709551616" causes an integer overflow.'),
    ("ip.addr == 300.1.1.1", 12, '"300.1.1.1" is not a valid hostname or IPv4 address.'),
    ("ipv6.addr == 10.0.0.1", 14, '"10.0.0.1" is not a valid hostname or IPv6 address.'),
    ("websocket == 1", 1, "websocket (type=protocol) cannot participate in '==' comparison."),
    ("tcp.port contains 1", 1, "tcp.port (type=unsigned integer) cannot participate in 'contains' comparison."),
    ("websocket.opcode == \"Blah\"", 21, '"Blah" cannot be found among the possible values for websocket.opcode.'),
    ("tcp.flags.syn == yes", 18, '"yes" cannot be found among the possible values for tcp.flags.syn.'),
    ("websocket.payload contains zz", 28, '"zz" is not a valid byte string.'),
    ("(tcp.port == 1", 15, "Unexpected end of filter expression."),
    ("tcp.port == \"abc", 17, "The final quote was missing from a quoted string."),
    ("tcp.port @ 3", 10, '"@" was unexpected in this context.'),
    ("tcp.port == 1 2", 15, '"2" was unexpected in this context.'),
    ("and tcp", 1, '"and" was unexpected in this context.'),
    ("1 == 1", 1, "1 is neither a field nor a protocol name."),
    ("\"a\" == 1", 1, "Constant expression is invalid."),
    ("tcp.port == ip.addr", 13, "tcp.port and ip.addr are not of compatible types."),
    ("nosuch(tcp.port)", 1, "Function 'nosuch' does not exist."),
    ("len(tcp.port) > 1", 5, "tcp.port (type=unsigned integer) cannot be an argument of len()."),
    ("http.host matches \"(unclosed\"", 19, None),
    ("ip.addr > 10.0.0.0/8", 11, '"10.0.0.0/8": a subnet cannot be ordered.'),
    ("websocket.opcode == 'ab'", 21, "'ab' is not a valid character constant."),
    ("tcp.port[0] == 1", 1, '"tcp.port" is a unsigned integer and cannot be sliced into a sequence of bytes.'),
    ("websocket.payload[1:2:3]", 19, '"1:2:3" is not a valid range.'),
])
def test_errors_name_the_column(expr, column, message):
    with pytest.raises(DisplayFilterError) as info:
        compile_filter(expr)
    err = info.value
    assert err.column == column
    if message is not None:
        assert err.message == message
    assert str(err) == f"display filter: column {column}: {err.message}" and "\n" not in str(err)
    assert isinstance(err, UsageError) and err.exit_status == 2


def test_string_escapes():
    p = Fields(http__request__uri=['/a"b\\c\n\x41'])
    assert compile_filter(r'http.request.uri == "/a\"b\\c\n\x41"')(p)
    assert compile_filter(r'http.request.uri contains "\101"')(p)  # octal escape


# -- properties: the quantifiers and the logic ------------------------------------------------------------------
ports = st.lists(st.integers(0, 65535), max_size=4)


@given(ports, st.integers(0, 65535))
def test_quantifiers(values, k):
    p = Fields(tcp__port=values)
    assert compile_filter(f"tcp.port == {k}")(p) == (k in values)
    assert compile_filter(f"tcp.port != {k}")(p) == (bool(values) and k not in values)
    assert compile_filter(f"tcp.port ~= {k}")(p) == any(v != k for v in values)
    assert compile_filter(f"tcp.port === {k}")(p) == (bool(values) and all(v == k for v in values))
    assert compile_filter(f"tcp.port > {k}")(p) == any(v > k for v in values)
    assert compile_filter(f"tcp.port")(p) == bool(values)


@given(ports, st.integers(0, 65535), st.integers(0, 65535))
def test_sets_equal_disjunctions(values, a, b):
    p = Fields(tcp__port=values)
    lo, hi = min(a, b), max(a, b)
    assert compile_filter(f"tcp.port in {{{a}, {b}}}")(p) == compile_filter(f"tcp.port == {a} || tcp.port == {b}")(p)
    assert compile_filter(f"tcp.port in {{{lo}..{hi}}}")(p) == any(lo <= v <= hi for v in values)


@given(ports, ports, st.integers(0, 65535))
def test_logic_matches_python(xs, ys, k):
    p = Fields(tcp__srcport=xs, tcp__dstport=ys)
    a, b = k in xs, k in ys
    assert compile_filter(f"tcp.srcport == {k} and not tcp.dstport == {k}")(p) == (a and not b)
    assert compile_filter(f"!(tcp.srcport == {k}) || tcp.dstport == {k}")(p) == ((not a) or b)
    assert compile_filter("tcp.srcport == tcp.dstport")(p) == bool(set(xs) & set(ys))


TOKENS = ["websocket", "websocket.opcode", "tcp.port", "ip.addr", "http.request.uri", "websocket.payload", "len(",
          "(", ")", "{", "}", ",", "..", "==", "!=", "~=", "===", "<", ">=", "contains", "matches", "in", "not", "!",
          "and", "&&", "or", "||", "&", "1", "0x10", "010", "10.0.0.0/8", "::1", '"a\\x41"', "'b'", "01:02", "r\"x\"",
          "foo", '"', "@", "-1", "9" * 25, "[", "]", "0:2", "-1:", "1-2"]


def assert_compiles_or_fails_cleanly(expr: str) -> None:
    """Whatever is typed: a working predicate, or one DisplayFilterError with a column inside the text (+1)."""
    try:
        flt = compile_filter(expr)
    except DisplayFilterError as e:
        assert 1 <= e.column <= len(expr) + 1
        return
    assert flt(WS_PACKET) in (True, False) and flt(HTTP_PACKET) in (True, False)


@settings(max_examples=400)
@given(st.lists(st.sampled_from(TOKENS), max_size=8), st.sampled_from([" ", ""]))
def test_any_token_soup_compiles_or_fails_cleanly(tokens, sep):
    assert_compiles_or_fails_cleanly(sep.join(tokens))


def test_byte_escapes_are_raw_bytes():
    """"\\x81" is the byte 0x81 (not the UTF-8 of U+0081); other text is UTF-8."""
    p = Fields(websocket__payload=[b"\x81\x05caf\xc3\xa9"], http__host=["caf\u00e9"])
    assert compile_filter(r'websocket.payload contains "\x81\x05"')(p)
    assert compile_filter(r'websocket.payload contains "café"')(p)
    assert compile_filter(r'websocket.payload matches "^\x81"')(p)
    assert compile_filter(r'websocket.payload matches "^\\x81\\x05"')(p)  # the regex engine's escape
    assert compile_filter(r'http.host == "caf\u00e9"')(p) and compile_filter(r'http.host == "caf\xc3\xa9"')(p)
    assert not compile_filter(r'websocket.payload contains "\u0081"')(p)
    assert compile_filter(r"websocket.payload contains '\x81'")(p)
    assert compile_filter(r"tcp.len == '\x81' && tcp.len == 0201")(Fields(tcp__len=[0x81]))


@settings(max_examples=300)
@given(st.text(max_size=20))
def test_any_text_compiles_or_fails_cleanly(text):
    for expr in (text, f'http.host == "{text}"', f'websocket.payload matches "{text}"', f"tcp.port == {text}",
                 f"websocket.payload[{text}]"):
        assert_compiles_or_fails_cleanly(expr)
