"""The command line: wires the stages together, picks a renderer or exporter, prints errors, chooses exit codes.

Exit status: 0 success; 2 bad input or usage (one line on stderr); 3 the capture is damaged (everything before
the damage was decoded and written); 4 the output cannot be written; 130 interrupted.
"""
from __future__ import annotations

import sys

import click

EXIT_OK, EXIT_INPUT, EXIT_DAMAGED, EXIT_OUTPUT, EXIT_INTERRUPTED = 0, 2, 3, 4, 130


def _fail(message: str, status: int) -> "NoReturn":  # noqa: F821
    click.echo(f"wsdissect: error: {message}", err=True)
    sys.exit(status)


def _warn(message: str) -> None:
    click.echo(f"wsdissect: warning: {message}", err=True)


def _common(f):
    """Options shared by every command that decodes captures."""
    f = click.option("--decode-as", "decode_as", multiple=True, metavar="tcp.port==PORT",
                     help="Decode this TCP port as WebSocket even without a handshake (repeatable).")(f)
    f = click.option("--max-message", default="64M", show_default=True, metavar="SIZE",
                     help="Largest message payload kept; larger ones are truncated and flagged.")(f)
    f = click.option("--max-inflated", default="64M", show_default=True, metavar="SIZE",
                     help="Largest decompressed message (deflate bomb guard).")(f)
    return f


def _options(decode_as, max_message, max_inflated, **kw):
    from .options import parse_decode_as, parse_size
    from .pipeline import Options

    return Options(decode_as=parse_decode_as(decode_as), max_message=parse_size(max_message),
                   max_inflated=parse_size(max_inflated), **kw)


class _Run:
    """Runs the pipeline over capture files, reporting file problems as warnings."""

    def __init__(self, paths, options):
        self.paths = paths
        self.options = options
        self.damaged = False

    def events(self):
        from .events import CaptureEnd, Finding
        from .pipeline import dissect_files

        for ev in dissect_files(self.paths, self.options):
            if ev.__class__ is Finding and ev.code.startswith("capture.") and ev.code in (
                    "capture.truncated", "capture.corrupt"):
                _warn(ev.message)
                self.damaged = True
            if ev.__class__ is not CaptureEnd:
                yield ev


def _guard(run):
    """Turn input/output errors into one line and an exit status."""
    from .errors import WsdissectError

    try:
        run()
    except WsdissectError as e:
        _fail(str(e), e.exit_status)
    except BrokenPipeError:
        try:
            sys.stdout = None  # type: ignore[assignment]
        finally:
            import os
            os._exit(EXIT_OK)
    except KeyboardInterrupt:
        click.echo("wsdissect: interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except OSError as e:
        _fail(f"cannot write output: {e.strerror or e}", EXIT_OUTPUT)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="wsdissect", prog_name="wsdissect")
def main():
    """wsdissect: see exactly what went over the wire in WebSocket traffic.

    Reads pcap/pcapng captures (or sniffs live), reassembles TCP, finds HTTP upgrades on any port, decodes every
    RFC 6455 frame and message (permessage-deflate included) and reports what is wrong as expert info.
    """


@main.command()
@click.argument("captures", nargs=-1, required=True, metavar="CAPTURE...")
@click.option("-f", "--format", "fmt", type=click.Choice(["jsonl", "json"]), default="jsonl", show_default=True)
@click.option("-o", "--output", default="-", metavar="FILE", help="Output file ('-' for stdout).")
@click.option("--expert", "expert_level", type=click.Choice(["chat", "note", "warning", "error", "none"]),
              default="note", show_default=True, help="Lowest severity of expert records exported.")
@_common
def export(captures, fmt, output, expert_level, **kw):
    """Export decoded messages, connections and expert info as JSON or JSONL."""

    def run():
        from .export.writer import RecordWriter
        from .findings import Severity

        options = _options(**kw)
        run_ = _Run(captures, options)
        min_sev = 99 if expert_level == "none" else Severity[expert_level.upper()]
        events = run_.events()
        first = next(events, None)  # open and check the inputs before creating the output
        out = _open_output(output)
        try:
            writer = RecordWriter(out, fmt, min_sev)
            if first is not None:
                writer.event(first)
                for ev in events:
                    writer.event(ev)
            writer.close()
        finally:
            if out is not sys.stdout.buffer:
                out.close()
        if run_.damaged:
            sys.exit(EXIT_DAMAGED)

    _guard(run)


def _open_output(path: str):
    if path == "-":
        return sys.stdout.buffer
    try:
        return open(path, "wb")
    except OSError as e:
        _fail(f"{path}: cannot write: {e.strerror}", EXIT_OUTPUT)
