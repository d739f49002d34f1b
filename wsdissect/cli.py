"""The command line: wires the stages together, picks a renderer or exporter, prints errors, chooses exit codes.

Exit status: 0 success; 2 bad input or usage (one line on stderr); 3 the capture is damaged (everything before
the damage was decoded and written); 4 the output cannot be written; 130 interrupted.
"""
from __future__ import annotations

import os
import sys
from typing import NamedTuple

import click

from .export.formats import names as export_formats

EXIT_OK, EXIT_INPUT, EXIT_DAMAGED, EXIT_OUTPUT, EXIT_INTERRUPTED = 0, 2, 3, 4, 130


def _fail(message: str, status: int):
    click.echo(f"wsdissect: error: {message}", err=True)
    sys.exit(status)


def _warn(message: str) -> None:
    click.echo(f"wsdissect: warning: {message}", err=True)


def _decorated(f, options: list):
    """*f* with the click *options*, listed by --help in the order given (click lists them in decoration order)."""
    for option in reversed(options):
        f = option(f)
    return f


def _shared(group):
    """The option group *group* (a decorator adding click options to a command function), with its options made
    once and shared by every command that has them: an option keeps no state of its command, and making the ~30
    shared options again for each of the nine commands was a tenth of the command line's set-up."""
    made: list = []

    def add(f):
        if not made:
            made.extend(group(lambda: None).__click_params__)
        if not hasattr(f, "__click_params__"):
            f.__click_params__ = []
        f.__click_params__.extend(made)
        return f

    add.__doc__, add.__name__ = group.__doc__, group.__name__
    return add


# -- shared options -------------------------------------------------------------------------------------------
@_shared
def _decode_options(f):
    options = [
        click.option("--decode-as", "decode_as", multiple=True, metavar="tcp.port==PORT",
                     help="Decode this TCP port as WebSocket even without a handshake (repeatable; PORT alone "
                          "works too)."),
        click.option("--app", "app", metavar="PROTO",
                     help="Decode every WebSocket connection's messages as this application protocol (socket.io, "
                          "socket.io-eio3, mqtt, stomp, graphql-transport-ws, graphql-ws, json-rpc)."),
        click.option("--decode-app", "decode_app", multiple=True, metavar="tcp.port==N,PROTO",
                     help="Decode connections to TCP port N as application protocol PROTO (repeatable)."),
        click.option("--max-message", default="64M", show_default=True, metavar="SIZE",
                     help="Largest message payload kept; larger ones are truncated and flagged."),
        click.option("--max-inflated", default="256M", show_default=True, metavar="SIZE",
                     help="Decompressed bytes produced per message at most (deflate bomb CPU guard); past it "
                          "the message is cut and the compression history is declared lost."),
        click.option("--max-ratio", default=0, show_default=True, metavar="N", type=click.IntRange(0),
                     help="Cut a message that decompresses to more than N times its compressed size (0 = off)."),
        click.option("--max-tcp-buffer", default="8M", show_default=True, metavar="SIZE",
                     help="Out-of-order bytes buffered per direction before a hole is declared lost."),
        click.option("--max-connections", default=100_000, show_default=True, metavar="N",
                     type=click.IntRange(1), help="Connections tracked at once (the most idle are evicted)."),
        click.option("--tls-keylog", "tls_keylog", multiple=True, metavar="FILE",
                     help="TLS key log (NSS SSLKEYLOGFILE format) to decrypt wss:// (repeatable; default: "
                          "$SSLKEYLOGFILE; pcapng Decryption Secrets Blocks are used too)."),
    ]
    return _decorated(f, options)


@_shared
def _filter_options(f):
    options = [
        click.option("--stream", "streams", multiple=True, type=click.IntRange(0), metavar="N",
                     help="Only connection N (tcp.stream numbering; repeatable)."),
        click.option("--client", metavar="IP[:PORT]", help="Only connections from this client endpoint."),
        click.option("--server", metavar="IP[:PORT]", help="Only connections to this server endpoint."),
        click.option("--direction", type=click.Choice(["c2s", "s2c"]), help="Only one direction."),
        click.option("--opcode", "opcodes", multiple=True, metavar="NAME",
                     help="Only messages/frames with this opcode: text, binary, close, ping, pong, continuation."),
        click.option("--match", metavar="TEXT", help="Only messages whose payload contains TEXT."),
        click.option("--regex", metavar="RE", help="Only messages whose text matches the regular expression."),
        click.option("--time-from", type=click.FloatRange(0), metavar="S", help="Only from S seconds after the first packet."),
        click.option("--time-to", type=click.FloatRange(0), metavar="S", help="Only up to S seconds after the first packet."),
        click.option("--app-kind", "app_kinds", multiple=True, metavar="KIND",
                     help="Only messages with an application unit of this kind (EVENT, PUBLISH, SEND, request...)."),
        click.option("--app-name", "app_names", multiple=True, metavar="NAME",
                     help="Only messages with an application unit of this name (Socket.IO event, MQTT topic, "
                          "STOMP destination, JSON-RPC method, GraphQL operation)."),
    ]
    return _decorated(f, options)


@_shared
def _input_options(f):
    """Inputs the tshark way: positional CAPTURE..., or ``-r FILE`` (repeatable), a display filter and a count."""
    options = [
        click.argument("captures", nargs=-1, metavar="[CAPTURE...]"),
        click.option("-r", "--read", "read", multiple=True, metavar="FILE",
                     help="Read this capture file ('-' for stdin; repeatable; positional CAPTURE works too)."),
        click.option("-Y", "--display-filter", "display", metavar="EXPR",
                     help="Wireshark display filter, e.g. 'websocket.opcode == 1 && tcp.stream == 3' "
                          "(docs/display-filter.md)."),
        click.option("-c", "--count", type=click.IntRange(1), metavar="N",
                     help="Stop after N packets (show: N packets shown; other commands: N packets read)."),
    ]
    return _decorated(f, options)


def _inputs(captures: tuple, read: tuple) -> list[str]:
    """Every input, ``-r`` ones first; none is a usage error."""
    paths = list(read) + list(captures)
    if not paths:
        _fail("no capture given (CAPTURE or -r FILE)", EXIT_INPUT)
    return paths


def _display(expression: str | None):
    """The compiled ``-Y`` filter, or None (a bad expression raises a usage error with its column)."""
    if expression is None or not expression.strip():
        return None
    from .display_filter import compile_filter

    return compile_filter(expression)


@_shared
def _terminal_options(f):
    options = [
        click.option("--color", type=click.Choice(["auto", "always", "never"]), default="auto", show_default=True,
                     help="Colour output (NO_COLOR in the environment also turns it off)."),
        click.option("--width", type=click.IntRange(20, 100_000), metavar="COLUMNS", help="Output width (default: the terminal's)."),
        click.option("-q", "--quiet", is_flag=True, help="No progress bar (live: no per-packet output, only the outputs and the summary)."),
    ]
    return _decorated(f, options)


@_shared
def _engine_options(f):
    options = [
        click.option("--engine", type=click.Choice(["local", "dask"]),
                     help="Decode files and shards in local processes (-j) or on a Dask cluster into a dataset "
                          "folder DIR/<table>/part-* (dask, or local with -T parquet; docs/scale.md)."),
        click.option("--scheduler", metavar="ADDRESS", help="Dask scheduler, e.g. tcp://host:8786 (default: a "
                                                            "local cluster of --workers processes)."),
        click.option("--workers", type=click.IntRange(1, 1024), metavar="N",
                     help="Worker processes of the local cluster (default: the CPU count; local engine: -j)."),
        click.option("--split-size", default="1G", show_default=True, metavar="SIZE",
                     help="Datasets: split captures larger than SIZE into flow shards decoded in parallel "
                          "(0: never)."),
        click.option("-q", "--quiet", is_flag=True, help="No progress bar."),
    ]
    return _decorated(f, options)


ENGINE = ("engine", "scheduler", "workers", "split_size", "quiet")


def _options(decode_as, app, decode_app, max_message, max_inflated, max_ratio, max_tcp_buffer, max_connections,
             **kw):
    """Options from the shared decode options; the TLS key log is loaded here (``tls_keylog``; ``live=True``:
    re-read as it grows)."""
    from .options import Options, load_tls_keys, parse_app, parse_decode_app, parse_decode_as, parse_size

    keys = load_tls_keys(kw.pop("tls_keylog", ()), refresh_interval=LIVE_KEYLOG_REFRESH if kw.pop("live", False)
                         else None)
    if keys.note:
        click.echo(f"wsdissect: note: {keys.note}", err=True)
    for warning in keys.warnings:
        _warn(f"TLS key log {warning}")
    return Options(decode_as=parse_decode_as(decode_as), app=parse_app(app), app_ports=parse_decode_app(decode_app),
                   tls_keys=keys.keylog, max_message=parse_size(max_message),
                   max_inflated=parse_size(max_inflated), max_ratio=max_ratio,
                   max_tcp_buffer=parse_size(max_tcp_buffer),
                   max_connections=max_connections, **kw)


def _filter(**kw):
    """The EventFilter of the filter options (FILTER)."""
    from .filters import EventFilter

    return EventFilter(streams=frozenset(kw["streams"]) if kw["streams"] else None, client=kw["client"],
                       server=kw["server"], direction=kw["direction"],
                       opcodes=frozenset(kw["opcodes"]) if kw["opcodes"] else None, match=kw["match"],
                       regex=kw["regex"], time_from=kw["time_from"], time_to=kw["time_to"],
                       app_kinds=frozenset(kw["app_kinds"]) if kw.get("app_kinds") else None,
                       app_names=frozenset(kw["app_names"]) if kw.get("app_names") else None)


def _split(kw: dict, names: tuple[str, ...]) -> dict:
    return {n: kw.pop(n) for n in names}


INPUT = ("captures", "read", "display", "count")
DECODE = ("decode_as", "app", "decode_app", "max_message", "max_inflated", "max_ratio", "max_tcp_buffer",
          "max_connections", "tls_keylog")
LIVE_KEYLOG_REFRESH = 0.1  # seconds between re-reads of a growing key log (live: browsers append as they go)
FILTER = ("streams", "client", "server", "direction", "opcodes", "match", "regex", "time_from", "time_to",
          "app_kinds", "app_names")
TERMINAL = ("color", "width", "quiet")
LIVE = ("iface", "bpf", "mode", "pcap_out", "count", "duration", "export_path", "fmt", "snaplen", "idle_timeout",
        "no_promisc")


def _console(color: str, width: int | None, stderr: bool = False):
    from rich.console import Console

    class PipeConsole(Console):
        """rich's Console, except that a closed pipe ends the command through ``_guard`` (quietly, status 0)
        instead of rich's own exit with status 1."""

        def on_broken_pipe(self) -> None:
            self.quiet = True
            raise BrokenPipeError

    kw: dict = {"highlight": False, "markup": False, "emoji": False, "stderr": stderr}
    if color == "always":
        kw["force_terminal"] = True
    elif color == "never":
        kw["color_system"] = None
        kw["no_color"] = True
    stream = sys.stderr if stderr else sys.stdout
    _encodable(stream)
    if width:
        kw["width"] = width
    elif not stream.isatty() and not os.environ.get("COLUMNS"):
        kw["width"] = 160
    return PipeConsole(**kw)


def _encodable(stream) -> None:
    """A stream whose encoding is not UTF-8 (``PYTHONIOENCODING=ascii``, a Latin-1 terminal) writes what it cannot
    encode as backslash escapes (``\\u2192``) instead of failing with a traceback halfway through the output."""
    encoding = getattr(stream, "encoding", None) or "utf-8"
    if encoding.lower().replace("-", "").replace("_", "") not in ("utf8", "utf8sig") and hasattr(stream, "reconfigure"):
        stream.reconfigure(errors="backslashreplace")


def _driver(options, event_filter, *, per_packet: bool = False, progress: bool = False, display=None,
            count: int | None = None, ws_only: bool = False):
    """The one driver (wsdissect.run), with file problems warned about on stderr and an optional progress bar."""
    from .run import Driver

    return Driver(options, event_filter, per_packet=per_packet, on_problem=_warn,
                  records=_with_progress if progress and sys.stderr.isatty() else None,
                  display=display, count=count, ws_only=ws_only)


def _with_progress(cf):
    """A capture file's records, with a progress bar on stderr (files of known size only)."""
    if not cf.size:
        yield from cf
        return
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn, TransferSpeedColumn

    with Progress("[progress.description]{task.description}", BarColumn(), DownloadColumn(),
                  TransferSpeedColumn(), TimeRemainingColumn(), transient=True,
                  console=_console("auto", None, stderr=True)) as bar:
        task = bar.add_task(os.path.basename(cf.name)[:30], total=cf.size)
        for i, rec in enumerate(cf):
            if not i & 0x3FF:
                bar.update(task, completed=cf.bytes_read)
            yield rec


def _each(sink):
    """A per-packet list sink that hands *sink* the events one at a time."""

    def each(evs: list) -> None:
        for ev in evs:
            sink(ev)

    return each


def _damaged_exit(driver) -> None:
    """A damaged capture (already warned about) ends with EXIT_DAMAGED once everything decodable is out."""
    if driver.damaged:
        sys.exit(EXIT_DAMAGED)


def _guard(run):
    """Turn input/output errors into one line and an exit status."""
    import gc

    from .errors import WsdissectError

    gc.freeze()  # what start-up made (modules, classes, the command tree) lives to the end: out of every collection
    # decoding makes few reference cycles (events die by reference count): collect the young generation every
    # 50,000 net allocations instead of 700 (1 % fewer instructions in an export; garbage cycles stay bounded)
    gc.set_threshold(50_000, 20, 20)
    try:
        run()
    except WsdissectError as e:
        _fail(str(e), e.exit_status)
    except BrokenPipeError:
        # the reader went away (``| head``): not an error; silence the interpreter's flush at exit
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(EXIT_OK)
    except KeyboardInterrupt:
        click.echo("wsdissect: interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except OSError as e:
        _fail(f"cannot write output: {e.strerror or e}", EXIT_OUTPUT)


class OneLineErrors(click.Group):
    """click's group, with every usage error (a bad option value, a missing argument) reported as one line
    ``wsdissect: error: ...`` and exit status 2, like wsdissect's own errors."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.NoArgsIsHelpError as e:
            click.echo(e.ctx.get_help() if e.ctx is not None else e.format_message())
            sys.exit(EXIT_OK)
        except click.ClickException as e:
            _fail(" ".join(e.format_message().split()), EXIT_INPUT if e.exit_code == 2 else e.exit_code)
        except click.Abort:
            click.echo("wsdissect: interrupted", err=True)
            sys.exit(EXIT_INTERRUPTED)
        sys.exit(EXIT_OK)


@click.group(cls=OneLineErrors, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="wsdissect", prog_name="wsdissect")
def main():
    """wsdissect: see exactly what went over the wire in WebSocket traffic.

    Reads pcap/pcapng captures (or sniffs live), reassembles TCP, finds HTTP upgrades on any port, decodes every
    RFC 6455 frame and message (permessage-deflate included) and reports what is wrong as expert info.
    """


class ViewRun(NamedTuple):
    """What a view command runs: the driver, its opened captures, the option filter, the display filter, the
    console."""

    driver: object
    files: list
    flt: object
    display: object
    console: object


def _view_run(kw, *, packets=False, frames=False, ws_only=False) -> ViewRun:
    """The driver of a view command, its opened captures (a bad input fails here), its filters and the console."""
    inputs = _split(kw, INPUT)
    paths = _inputs(inputs["captures"], inputs["read"])
    decode = _split(kw, DECODE)
    flt = _filter(**_split(kw, FILTER))
    display = _display(inputs["display"])
    term = _split(kw, TERMINAL)
    driver = _driver(_options(**decode, packets=packets, frames=frames), flt, per_packet=packets,
                     progress=not term["quiet"], display=display, count=inputs["count"], ws_only=ws_only)
    return ViewRun(driver, driver.open(paths), flt, display, _console(term["color"], term["width"]))


@main.command()
@_input_options
@click.option("-V", "--detail", is_flag=True, help="Print a detail tree per packet (Frame/Ethernet/IP/TCP/HTTP/"
                                                     "WebSocket) instead of the packet list.")
@click.option("--frame", "frames_", multiple=True, type=click.IntRange(1), metavar="N",
              help="Detail tree of frame N only (repeatable).")
@click.option("--ws-only", "ws_only", is_flag=True,
              help="Only the packets of WebSocket handshakes and WebSocket frames (no ordinary HTTP, no bare TCP).")
@click.option("-x", "--hex", "hex_bytes", is_flag=True, help="Also print each packet's bytes as hex and ASCII "
                                                             "(like tshark -x).")
@click.option("-t", "--time-format", "time_format", type=click.Choice(["a", "ad", "r", "d", "dd", "e", "u", "ud"]),
              default="r", show_default=True, help="Time column as tshark -t: absolute (a, ad: with date; u, ud: "
                                                   "UTC), relative (r), delta (d, dd: since the previous listed), "
                                                   "epoch (e).")
@click.option("-w", "--write", "pcap_out", metavar="FILE",
              help="Write the selected packets to a pcap file instead of listing them ('-' for stdout).")
@_decode_options
@_filter_options
@_terminal_options
def show(detail, frames_, ws_only, hex_bytes, time_format, pcap_out, **kw):
    """Wireshark-style packet list, or detail trees with -V."""

    def run():
        from .render.packets import PacketListView, group_lists

        paths = _inputs(kw["captures"], kw["read"])
        run_ = _view_run(kw, packets=True, frames=True, ws_only=ws_only)
        frames = set(frames_) if frames_ else None
        view = _show_view(run_.console, detail, frames, hex_bytes, time_format, pcap_out, paths)
        try:
            for cf in run_.files:
                _file_header(run_, cf, pcap_out is None)
                skim = min(frames) if frames and pcap_out is None else 0  # --frame: skim the packets before
                if isinstance(view, PacketListView):  # the packet list reads the driver's lists itself
                    view.lists(run_.driver.lists([cf]))
                    continue
                groups = group_lists(run_.driver.lists([cf], skim_until=skim))
                for pkt, events in groups:
                    view.group(pkt, events)
                    if frames and view.complete:  # --frame: stop reading once the frames are drawn
                        groups.close()
                        break
        except BaseException:
            if hasattr(view, "abort"):
                view.abort()
            raise
        if frames and run_.driver.count is None and not view.found_all and max(frames) > run_.driver.most_records:
            _fail(f"--frame {max(frames)}: the capture has {run_.driver.most_records} packets", EXIT_INPUT)
        view.end()
        _damaged_exit(run_.driver)

    _guard(run)


def _file_header(run_: ViewRun, cf, shown: bool = True) -> None:
    """With several inputs, each view's output starts with the file's name (numbering restarts per file, as
    tshark's does)."""
    if shown and len(run_.files) > 1:
        from rich.text import Text
        run_.console.print(Text(f"==> {cf.name} <==", style="bold"), soft_wrap=True)


def _per_file(run_: ViewRun, body) -> None:
    """*body(files)* once per input file, each after its header."""
    for cf in run_.files:
        _file_header(run_, cf)
        body([cf])


def _show_view(console, detail: bool, frames: set | None, hex_bytes: bool, time_format: str, pcap_out: str | None,
               paths: list):
    """The view of ``show``: a pcap writer (-w), detail trees (-V, --frame) or the packet list."""
    if pcap_out:
        from .export.pcap_out import PacketFile
        return PacketFile(pcap_out, paths)
    if detail or frames:
        from .render.tree import DetailView
        return DetailView(console, frames, hex_bytes)
    from .render.packets import PacketListView
    from .render.timefmt import TimeColumn
    return PacketListView(console, TimeColumn(time_format), hex_bytes)


@main.command()
@_input_options
@click.option("--hex-limit", type=click.IntRange(0), default=256, show_default=True,
              help="Bytes of each binary message shown as hex.")
@click.option("--full", is_flag=True, help="Every byte of every message (no '… N more bytes').")
@click.option("--oneline", is_flag=True, help="One line per message: stream, time, arrow, opcode, size, escaped "
                                              "content (for grep).")
@click.option("--raw", is_flag=True, help="Show payloads as text/hex even where application units were decoded.")
@_decode_options
@_filter_options
@_terminal_options
def follow(hex_limit, full, oneline, raw, **kw):
    """One connection as a conversation (use --stream N; all WebSocket connections otherwise)."""

    def run():
        from .render.follow import FollowView

        run_ = _view_run(kw)
        def one(files):
            view = FollowView(run_.console, None if full else hex_limit, None if full else 4000, oneline,
                              units=not raw)
            run_.driver.feed(files, view.events)
            view.end()

        _per_file(run_, one)
        _damaged_exit(run_.driver)

    _guard(run)


@main.command()
@_input_options
@click.option("-T", "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True,
              help="Output format (-T as in tshark).")
@click.option("--plot", is_flag=True, help="Also draw messages per second over time per connection (sparklines).")
@_decode_options
@_filter_options
@_terminal_options
def stats(fmt, plot, **kw):
    """Per-connection statistics: messages and bytes per direction and opcode, closes, ping RTT, totals."""

    def run():
        from .render.stats import StatsCollector, render_stats
        from .report.aggregate import ReportAggregator, plot_json, tee

        run_ = _view_run(kw)

        def one(files):
            st = StatsCollector(recount=run_.flt.narrows_messages or run_.display is not None)
            agg = ReportAggregator() if plot else None
            run_.driver.feed(files, _each(st.event if agg is None else tee(st.event, agg.event)))
            if fmt == "json":  # one document over every input
                import json
                doc = {"connections": st.rows, "totals": st.totals()}
                if st.app.tallies:
                    doc["app"] = st.app.to_json()
                if agg is not None:
                    doc["plot"] = plot_json(agg.result())
                click.echo(json.dumps(doc, indent=2))  # ASCII: terminal-safe
                return
            render_stats(run_.console, st)
            if agg is not None:
                from .render.sparkline import render_sparklines
                render_sparklines(run_.console, agg.result())

        one(run_.files) if fmt == "json" else _per_file(run_, one)
        _damaged_exit(run_.driver)

    _guard(run)


@main.command()
@_input_options
@click.option("--severity", type=click.Choice(["chat", "note", "warning", "error"]), default="chat",
              show_default=True, help="Lowest severity shown.")
@click.option("-v", "--verbose", is_flag=True, help="List every finding under its group.")
@click.option("-T", "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True,
              help="Output format (-T as in tshark).")
@_decode_options
@_filter_options
@_terminal_options
def expert(severity, verbose, fmt, **kw):
    """Expert information: findings grouped by severity and code, with counts."""

    def run():
        from .findings import Severity
        from .render.expert import ExpertCollector, render_expert

        run_ = _view_run(kw)

        def one(files):
            ex = ExpertCollector(Severity[severity.upper()])
            run_.driver.feed(files, _each(ex.event))
            if fmt == "json":  # one document over every input
                import json
                click.echo(json.dumps(ex.as_json(), indent=2))
            else:
                render_expert(run_.console, ex, verbose)

        one(run_.files) if fmt == "json" else _per_file(run_, one)
        _damaged_exit(run_.driver)

    _guard(run)


@main.command()
@_input_options
@click.option("-T", "--format", "fmt", type=click.Choice(export_formats()), default="jsonl", show_default=True,
              help="jsonl, json, csv (messages), parquet (-o DIR: three tables), har (HAR 1.2, Chrome's WebSocket "
                   "entries).")
@click.option("-o", "--output", default="-", metavar="FILE|DIR", help="Output file ('-' for stdout; a folder for "
                                                                        "parquet).")
@click.option("--expert", "expert_level", type=click.Choice(["chat", "note", "warning", "error", "none"]),
              default="note", show_default=True, help="Lowest severity of expert records exported.")
@click.option("-j", "--jobs", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Decode several capture files in parallel processes (jsonl and json; output stays in file "
                   "order).")
@_engine_options
@_decode_options
@_filter_options
def export(fmt, output, expert_level, jobs, **kw):
    """Export messages, connections and expert info as JSONL, JSON, CSV, Parquet or HAR (see docs/export.md)."""

    def run():
        from .export.formats import ExportSettings, open_export
        from .findings import Severity

        inputs = _split(kw, INPUT)
        captures = _inputs(inputs["captures"], inputs["read"])
        display = _display(inputs["display"])
        options = _options(**_split(kw, DECODE))
        flt = _filter(**_split(kw, FILTER))
        fmt_ = fmt
        settings = ExportSettings(99 if expert_level == "none" else Severity[expert_level.upper()],
                                  named=len(captures) > 1)
        engine = _split(kw, ENGINE)
        if engine["engine"] == "dask" or (engine["engine"] and fmt_ == "parquet"):  # a dataset: DIR/<table>/part-*
            if display is not None or inputs["count"] is not None:
                _fail("-Y and -c are not available with --engine (the dataset is split by connection)", EXIT_INPUT)
            _export_dataset(captures, fmt_, output, options, flt, settings.min_severity, engine, jobs)
            return
        parallel = jobs > 1 and len(captures) > 1 and "-" not in captures  # stdin cannot be shared by workers
        if parallel and (display is not None or inputs["count"] is not None):
            _warn("-j is not used with -Y or -c; decoding in one process")
            parallel = False
        if parallel and fmt_ in ("jsonl", "json"):
            from .export.output import Destination
            from .export.parallel import check_inputs, export_parallel

            check_inputs(captures)  # a bad input fails before the output file is created
            dest = Destination(output, captures)
            try:
                warnings, damaged = export_parallel(captures, options, flt, settings.min_severity, fmt_,
                                                    dest.stream(), jobs, named=settings.named)
            except BaseException:
                dest.abort()
                raise
            dest.commit()
            for w in warnings:
                _warn(w)
            if damaged:
                sys.exit(EXIT_DAMAGED)
            return
        if parallel:
            _warn(f"-j is used with jsonl and json; decoding {fmt_} in one process")
        driver = _driver(options, flt, display=display, count=inputs["count"])
        files = driver.open(captures)  # every input is checked before the output is created
        exp = open_export(fmt_, output, list(captures), settings)
        try:
            driver.feed(files, exp.events)
        except BaseException:
            exp.abort()  # an interrupted or failed export leaves no file under the final name
            raise
        exp.close()
        _damaged_exit(driver)

    _guard(run)


@main.command()
@_input_options
@click.option("-o", "--output", required=True, metavar="FILE", help="The HTML file to write ('-' for stdout).")
@click.option("--title", metavar="TEXT", help="Page title (default: the capture file names).")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
@_decode_options
@_filter_options
def report(output, title, quiet, **kw):
    """One self-contained HTML page with charts and tables (see docs/report.md)."""

    def run():
        from .report.aggregate import ReportAggregator
        from .report.html import describe_filters, write_report

        inputs = _split(kw, INPUT)
        captures = _inputs(inputs["captures"], inputs["read"])
        filters = _split(kw, FILTER)
        if inputs["display"]:
            filters["display filter"] = inputs["display"]
        driver = _driver(_options(**_split(kw, DECODE)), _filter(**_split(dict(filters), FILTER)),
                         progress=not quiet, display=_display(inputs["display"]), count=inputs["count"])
        files = driver.open(captures)  # every input is checked before the output is created
        out = _open_output(output)
        agg = ReportAggregator()
        interrupted = False
        try:
            try:
                driver.feed(files, agg.feed)
            except KeyboardInterrupt:  # what was decoded is still reported
                interrupted = True
            write_report(out, agg.result(), title, describe_filters(filters), interrupted)
        finally:
            if out is not sys.stdout.buffer:
                out.close()
        if interrupted:
            raise KeyboardInterrupt
        _damaged_exit(driver)

    _guard(run)


def _export_dataset(captures, fmt, output, options, flt, min_sev, engine: dict, jobs: int) -> None:
    """``export --engine dask`` / ``--format parquet``: one dataset folder, written by parallel tasks."""
    from .engines import export_dataset
    from .engines.inputs import expand_inputs
    from .engines.parts import WRITERS
    from .engines.task import ExportJob
    from .errors import UsageError
    from .options import parse_size

    if output == "-" or fmt not in WRITERS:
        raise UsageError("a dataset export writes parquet or jsonl parts into a folder: give -T parquet -o DIR")
    if engine["engine"] == "dask":
        from .engines.dask_engine import require_dask
        require_dask()
    sources = expand_inputs(captures)
    split = parse_size(engine["split_size"])
    if flt.active and flt.streams:  # stream numbers are known only after a split capture's shards are merged
        split = 0
    job = ExportJob(os.path.abspath(output), options, flt, min_sev, WRITERS[fmt]())
    workers = engine["workers"] or (jobs if jobs > 1 else None)
    done = export_dataset(sources, job, engine["engine"], workers, engine["scheduler"], split,
                          progress=not engine["quiet"] and sys.stderr.isatty())
    for w in done.warnings:
        _warn(w)
    if done.damaged:
        sys.exit(EXIT_DAMAGED)


def _open_output(path: str):
    if path == "-":
        return sys.stdout.buffer
    try:
        return open(path, "wb")
    except OSError as e:
        _fail(f"{path}: cannot write: {e.strerror}", EXIT_OUTPUT)


@main.command()
@click.option("-i", "--interface", "iface", required=True, metavar="IFACE", help="Interface to sniff ('any': all).")
@click.option("-f", "--filter", "bpf", metavar="BPF", help="Capture filter, e.g. 'tcp port 28002'.")
@click.option("--messages", "mode", flag_value="messages", help="One line per message (like follow).")
@click.option("-V", "--detail", "mode", flag_value="detail", help="A detail tree per packet.")
@click.option("-w", "--write", "pcap_out", metavar="FILE", help="Also write the raw packets to a pcap file.")
@click.option("-c", "--count", type=click.IntRange(1), metavar="N", help="Stop after N packets.")
@click.option("--duration", type=click.FloatRange(0, min_open=True), metavar="S", help="Stop after S seconds.")
@click.option("--export", "export_path", metavar="FILE", help="Append message records to FILE as they happen.")
@click.option("--format", "fmt", type=click.Choice(["jsonl"]), default="jsonl", show_default=True,
              help="Format of --export.")
@click.option("-s", "--snaplen", type=click.IntRange(64, 262144), default=262144, show_default=True, help="Bytes captured per packet.")
@click.option("--idle-timeout", type=click.FloatRange(0, min_open=True), default=300.0, show_default=True, metavar="S",
              help="Finish connections idle this long (bounded memory on long runs).")
@click.option("--no-promisc", is_flag=True, help="Do not put the interface in promiscuous mode.")
@_decode_options
@_filter_options
@_terminal_options
def live(**kw):
    """Sniff an interface and decode WebSocket traffic as it happens (needs root or CAP_NET_RAW)."""

    def run():
        from .capture.afpacket import LiveCapture
        from .live import LiveSession

        opts = _split(kw, LIVE)
        decode = _split(kw, DECODE)
        flt = _filter(**_split(kw, FILTER))
        term = _split(kw, TERMINAL)
        quiet = term["quiet"]  # live: no per-packet output at all (outputs and the summary only)
        mode = opts["mode"]
        views = not quiet and mode != "messages"
        iface, bpf = opts["iface"], opts["bpf"]
        capture = LiveCapture(iface, bpf, opts["snaplen"], not opts["no_promisc"])
        session = LiveSession(capture, _options(**decode, packets=views, frames=views, live=True), flt,
                              _console(term["color"], term["width"]), mode or "list",
                              idle_timeout=opts["idle_timeout"], quiet=quiet)
        session.open_outputs(opts["pcap_out"], opts["export_path"])
        summary = session.run(opts["count"], opts["duration"], lambda: click.echo(
            f"Capturing on '{iface}'" + (f" (filter: {bpf})" if bpf else ""), err=True))
        click.echo(summary, err=True)

    _guard(run)


@main.command()
def interfaces():
    """List the interfaces live capture can use."""
    from .capture.afpacket import list_interfaces

    for index, name in list_interfaces():
        click.echo(f"{index}. {name}" if index else f"-. {name} (all interfaces)")


@main.command()
@click.argument("capture", required=False, metavar="[CAPTURE]")
@click.option("-i", "--interface", "iface", metavar="IFACE", help="Sniff this interface instead of reading a file.")
@click.option("-f", "--filter", "bpf", metavar="BPF", help="Capture filter for -i, e.g. 'tcp port 8765'.")
@click.option("-Y", "--display-filter", "display", metavar="EXPR",
              help="Wireshark display filter, as in show (the filter bar starts with it; docs/display-filter.md).")
@_decode_options
@_filter_options
def tui(capture, iface, bpf, display, **kw):
    """Browse a capture (or a live interface) in three panes: packet list, detail tree, bytes (docs/tui.md)."""

    def run():
        from .tui import require_textual

        require_textual()
        from .tui.filter_text import FilterLanguage
        from .tui.launch import run_tui

        decode, language = _split(kw, DECODE), FilterLanguage(_filter_options, _filter, _display)
        _options(**decode)  # bad sizes or ports fail here, before the screen is taken
        status = run_tui(capture, iface, bpf, lambda: _options(**decode), language,
                         language.text_of({**kw, "display": display}))
        sys.exit(status)

    _guard(run)
