"""Input and usage errors only.

Protocol problems are never exceptions: they are findings (see :mod:`wsdissect.findings`).  These exceptions
describe input the tool cannot read at all; the CLI turns them into one line on stderr and an exit status.
"""
from __future__ import annotations


class WsdissectError(Exception):
    """Base class: an error the CLI reports as one line, with an exit status."""

    exit_status = 2


class CaptureError(WsdissectError):
    """A capture source cannot be opened or is not a capture at all (bad magic, empty, directory...)."""


class UsageError(WsdissectError):
    """Options that do not make sense (bad --decode-as spelling, bad filter...)."""
