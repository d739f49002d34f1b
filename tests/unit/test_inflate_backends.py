"""The Inflater gives the same results with ISA-L (``isal``, used when installed) and with zlib (the fallback):
the same payloads, and the same finding codes for corrupt data, missing history and the size limit."""
from __future__ import annotations

import random
import zlib

import pytest

import wsdissect.ws.deflate as deflate
from wsdissect.ws.deflate import Inflater

isal_zlib = pytest.importorskip("isal.isal_zlib")

BACKENDS = {"zlib": (zlib, (zlib.error,)), "isal": (isal_zlib, (zlib.error, isal_zlib.error))}


def _messages(n: int = 300, seed: int = 5) -> list[bytes]:
    rnd = random.Random(seed)
    words = [b"tick", b"price", b"qty", b"\xe6\x97\xa5\xe7\xb5\x8c", b"{", b"}", b'"sym":', b"AAPL", b"MSFT"]
    return [b" ".join(rnd.choice(words) for _ in range(rnd.randrange(1, 400))) + bytes([rnd.randrange(256)])
            for _ in range(n)]


def _compress(messages: list[bytes], takeover: bool = True) -> list[bytes]:
    out, c = [], zlib.compressobj(wbits=-15)
    for i, m in enumerate(messages):
        if not takeover:
            c = zlib.compressobj(wbits=-15)
        data = c.compress(m) + c.flush(zlib.Z_SYNC_FLUSH if i % 7 else zlib.Z_FINISH)
        if i % 7 == 0:  # a message that ends the deflate stream (BFINAL): the next one needs the kept window
            c = zlib.compressobj(wbits=-15, zdict=b"".join(messages[:i + 1])[-32768:])
        out.append(data[:-4] if data.endswith(b"\x00\x00\xff\xff") else data)
    return out


def _run(backend: str, compressed: list[bytes], **kw) -> list[tuple[bytes, str | None]]:
    lib, errors = BACKENDS[backend]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(deflate, "_inflate_lib", lib)
        mp.setattr(deflate, "INFLATE_ERRORS", errors)
        inf = Inflater(**kw)
        results = []
        for data in compressed:
            payload, problem = inf.inflate(data)
            results.append((payload, problem.code if problem else None))
        return results


@pytest.mark.parametrize("takeover", [True, False])
def test_same_payloads(takeover):
    messages = _messages()
    compressed = _compress(messages, takeover)
    kw = {"no_context_takeover": not takeover}
    got = {b: _run(b, compressed, **kw) for b in BACKENDS}
    assert got["zlib"] == got["isal"]
    assert [p for p, _ in got["isal"]] == messages
    assert all(problem is None for _, problem in got["isal"])


def test_same_problems():
    messages = _messages(40)
    compressed = _compress(messages)
    cases = {
        "corrupt": compressed[:5] + [b"\xff\xff\xff garbage"] + compressed[5:10],
        "no history": compressed[3:10],  # starts after messages it refers to
        "limit": [zlib.compress(b"a" * 200_000)[2:-4]],
    }
    for name, data in cases.items():
        kw = {"history_known": name != "no history", "max_size": 50_000}
        got = {b: _run(b, data, **kw) for b in BACKENDS}
        assert [c for _, c in got["zlib"]] == [c for _, c in got["isal"]], name
        assert got["zlib"] == got["isal"] or name == "limit", name  # past the limit the cut may differ
    assert [c for _, c in _run("isal", cases["corrupt"])][5] == "ws.deflate.error"
    assert "ws.deflate.no_context" in [c for _, c in _run("isal", cases["no history"], history_known=False)]
    assert _run("isal", cases["limit"], max_size=50_000)[0][1] == "ws.deflate.limit"
