"""The C unmasking (``speedups.unmask``, what ``wsdissect.ws.mask.unmask`` uses) is byte-identical to the pure-Python
reference ``unmask_py`` for any payload, key and buffer type."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wsdissect.speedups import speedups as C
from wsdissect.ws.mask import unmask_py

needs_c = pytest.mark.skipif(C is None, reason="the C speedups are not built")


@needs_c
@given(st.binary(max_size=300), st.binary(min_size=4, max_size=4))
def test_c_unmask_is_the_python_one(data, key):
    assert C.unmask(data, key) == unmask_py(data, key)
    assert C.unmask(bytearray(data), memoryview(key)) == unmask_py(data, key)


@needs_c
def test_c_unmask_refuses_a_key_that_is_not_four_bytes():
    with pytest.raises(ValueError):
        C.unmask(b"abc", b"12345")
    with pytest.raises(TypeError):
        C.unmask("text", b"1234")
