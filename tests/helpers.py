"""Moved to :mod:`tests.support` (kept so that code written against the old name still imports)."""
from tests.support import *  # noqa: F401,F403
from tests.support import __all__  # noqa: F401
