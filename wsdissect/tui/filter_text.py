"""The filter bar's language: the filter options of ``show``, written as on the command line, ``--`` optional.

``stream 3 opcode text``, ``--match hello``, ``direction=c2s regex 'a+b'``: parsed by the very click options the
commands use, so the meaning and the error messages are the same.
"""
from __future__ import annotations

import shlex
from typing import Callable

import click

from ..errors import UsageError
from ..filters import EventFilter


def _option_names(command: click.Command) -> set[str]:
    return {name[2:] for p in command.params for name in p.opts if name.startswith("--")}


def _normalise(tokens: list[str], names: set[str]) -> list[str]:
    """``stream`` -> ``--stream``; ``stream=3`` -> ``--stream=3``; anything else as typed."""
    out = []
    for tok in tokens:
        key = tok.split("=", 1)[0]
        out.append(f"--{tok}" if key in names else tok)
    return out


class FilterLanguage:
    """Parses the filter bar's text into an :class:`EventFilter` over the shared filter options (*options_decorator*
    adds them to a command, *make_filter* turns their values into a filter), and writes option values back as
    text.  Errors raise :class:`UsageError` with one line."""

    def __init__(self, options_decorator: Callable, make_filter: Callable[..., EventFilter]):
        @click.command(add_help_option=False)
        @options_decorator
        def command(**kw):  # pragma: no cover - only parsed, never invoked
            pass

        self.command = command
        self.make_filter = make_filter
        self.names = _option_names(command)

    def parse(self, text: str) -> EventFilter | None:
        """The filter *text* describes; None for an empty text."""
        try:
            tokens = shlex.split(text)
        except ValueError as e:
            raise UsageError(f"filter: {e}") from None
        if not tokens:
            return None
        try:
            ctx = self.command.make_context("filter", _normalise(tokens, self.names), resilient_parsing=False)
        except click.ClickException as e:
            raise UsageError(f"filter: {e.format_message()}") from None
        return self.make_filter(**ctx.params)

    def text_of(self, params: dict) -> str:
        """The filter bar text for option values as click parsed them (the command line's filter)."""
        words = []
        for p in self.command.params:
            value = params.get(p.name)
            name = next(o[2:] for o in p.opts if o.startswith("--"))
            for v in (value if isinstance(value, (tuple, list)) else [value]):
                if v is not None:
                    words += [name, shlex.quote(str(v))]
        return " ".join(words)
