"""The filter bar's language: a Wireshark display filter, or the filter options of ``show`` written as on the
command line (``--`` optional), or both.

``websocket.opcode == 1 && tcp.stream == 3`` (Wireshark's syntax, as ``-Y``), ``stream 3 opcode text``,
``--match hello``, ``direction=c2s regex 'a+b'``, ``stream 3 -Y 'websocket.payload contains "hi"'``: the options are
parsed by the very click options the commands use and the display filter by the same compiler as ``-Y``, so the
meaning and the error messages are the same.  A text whose first word is not an option is a display filter.
"""
from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Callable

import click

from ..errors import UsageError
from ..filters import EventFilter
from ..run.driver import event_selector


@dataclass(frozen=True, slots=True)
class BarFilter:
    """What the filter bar selects: option filters and a display filter, combined as ``show`` combines them."""

    options: EventFilter | None
    display: object | None  # a compiled display filter (wsdissect.display_filter), or None

    def selector(self, per_packet: bool) -> Callable[[list], list] | None:
        """A fresh selector for one run over the capture (see :func:`~wsdissect.run.driver.event_selector`)."""
        return event_selector(self.options, per_packet, self.display)


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

    def __init__(self, options_decorator: Callable, make_filter: Callable[..., EventFilter],
                 compile_display: Callable[[str], object]):
        @click.command(add_help_option=False)
        @options_decorator
        @click.option("-Y", "--display-filter", "display", metavar="EXPR")
        def command(**kw):  # pragma: no cover - only parsed, never invoked
            pass

        self.command = command
        self.make_filter = make_filter
        self.compile_display = compile_display  # raises UsageError (with the column) for a bad expression
        self.names = _option_names(command)

    def parse(self, text: str) -> BarFilter | None:
        """The filter *text* describes; None for an empty text."""
        words = text.split(None, 1)
        if not words:
            return None
        if not words[0].startswith("-") and words[0].split("=", 1)[0] not in self.names:
            return BarFilter(None, self._display(text))
        try:
            tokens = shlex.split(text)
        except ValueError as e:
            raise UsageError(f"filter: {e}") from None
        try:
            ctx = self.command.make_context("filter", _normalise(tokens, self.names), resilient_parsing=False)
        except click.ClickException as e:
            raise UsageError(f"filter: {e.format_message()}") from None
        params = dict(ctx.params)
        display = params.pop("display")
        flt = self.make_filter(**params)
        bar = BarFilter(flt if flt.active else None, self._display(display) if display else None)
        return bar if bar.options is not None or bar.display is not None else None

    def _display(self, expression: str) -> object:
        try:
            return self.compile_display(expression.strip())
        except UsageError as e:
            raise UsageError(f"filter: {e}") from None

    def text_of(self, params: dict) -> str:
        """The filter bar text for option values as click parsed them (the command line's filter; ``display``
        is the ``-Y`` expression)."""
        display = params.get("display")
        words = []
        for p in self.command.params:
            if p.name == "display":
                continue
            value = params.get(p.name)
            name = next(o[2:] for o in p.opts if o.startswith("--"))
            for v in (value if isinstance(value, (tuple, list)) else [value]):
                if v is not None:
                    words += [name, shlex.quote(str(v))]
        if display and words:
            words += ["-Y", shlex.quote(display)]
        return " ".join(words) if words else (display or "")
