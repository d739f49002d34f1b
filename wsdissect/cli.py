"""The command line: wires the stages together, picks a renderer or exporter, prints errors, chooses exit codes.

Exit status: 0 success; 2 bad input or usage (one line on stderr); 3 the capture is damaged (everything before
the damage was decoded and written); 4 the output cannot be written; 130 interrupted.
"""
from __future__ import annotations

import os
import sys

import click

from .export.formats import names as export_formats

EXIT_OK, EXIT_INPUT, EXIT_DAMAGED, EXIT_OUTPUT, EXIT_INTERRUPTED = 0, 2, 3, 4, 130


def _fail(message: str, status: int):
    click.echo(f"wsdissect: error: {message}", err=True)
    sys.exit(status)


def _warn(message: str) -> None:
    click.echo(f"wsdissect: warning: {message}", err=True)


# -- shared options -------------------------------------------------------------------------------------------
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
    ]
    for option in reversed(options):  # click lists options in the order they decorate
        f = option(f)
    return f


def _filter_options(f):
    options = [
        click.option("--stream", "streams", multiple=True, type=int, metavar="N",
                     help="Only connection N (tcp.stream numbering; repeatable)."),
        click.option("--client", metavar="IP[:PORT]", help="Only connections from this client endpoint."),
        click.option("--server", metavar="IP[:PORT]", help="Only connections to this server endpoint."),
        click.option("--direction", type=click.Choice(["c2s", "s2c"]), help="Only one direction."),
        click.option("--opcode", "opcodes", multiple=True, metavar="NAME",
                     help="Only messages/frames with this opcode: text, binary, close, ping, pong, continuation."),
        click.option("--match", metavar="TEXT", help="Only messages whose payload contains TEXT."),
        click.option("--regex", metavar="RE", help="Only messages whose text matches the regular expression."),
        click.option("--time-from", type=float, metavar="S", help="Only from S seconds after the first packet."),
        click.option("--time-to", type=float, metavar="S", help="Only up to S seconds after the first packet."),
        click.option("--app-kind", "app_kinds", multiple=True, metavar="KIND",
                     help="Only messages with an application unit of this kind (EVENT, PUBLISH, SEND, request...)."),
        click.option("--app-name", "app_names", multiple=True, metavar="NAME",
                     help="Only messages with an application unit of this name (Socket.IO event, MQTT topic, "
                          "STOMP destination, JSON-RPC method, GraphQL operation)."),
    ]
    for option in reversed(options):  # click lists options in the order they decorate
        f = option(f)
    return f


def _terminal_options(f):
    options = [
        click.option("--color", type=click.Choice(["auto", "always", "never"]), default="auto", show_default=True,
                     help="Colour output (NO_COLOR in the environment also turns it off)."),
        click.option("--width", type=int, metavar="COLUMNS", help="Output width (default: the terminal's)."),
        click.option("-q", "--quiet", is_flag=True, help="No progress bar (live: no per-packet output, only the outputs and the summary)."),
    ]
    for option in reversed(options):  # click lists options in the order they decorate
        f = option(f)
    return f


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
    for option in reversed(options):  # click lists options in the order they decorate
        f = option(f)
    return f


ENGINE = ("engine", "scheduler", "workers", "split_size", "quiet")


def _options(decode_as, app, decode_app, max_message, max_inflated, max_ratio, max_tcp_buffer, max_connections,
             **kw):
    from .options import Options, parse_app, parse_decode_app, parse_decode_as, parse_size

    return Options(decode_as=parse_decode_as(decode_as), app=parse_app(app), app_ports=parse_decode_app(decode_app),
                   max_message=parse_size(max_message),
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


DECODE = ("decode_as", "app", "decode_app", "max_message", "max_inflated", "max_ratio", "max_tcp_buffer",
          "max_connections")
FILTER = ("streams", "client", "server", "direction", "opcodes", "match", "regex", "time_from", "time_to",
          "app_kinds", "app_names")
TERMINAL = ("color", "width", "quiet")
LIVE = ("iface", "bpf", "mode", "pcap_out", "count", "duration", "export_path", "fmt", "snaplen", "idle_timeout",
        "no_promisc")


def _console(color: str, width: int | None, stderr: bool = False):
    from rich.console import Console

    kw: dict = {"highlight": False, "markup": False, "emoji": False, "stderr": stderr}
    if color == "always":
        kw["force_terminal"] = True
    elif color == "never":
        kw["color_system"] = None
        kw["no_color"] = True
    stream = sys.stderr if stderr else sys.stdout
    if width:
        kw["width"] = width
    elif not stream.isatty() and not os.environ.get("COLUMNS"):
        kw["width"] = 160
    return Console(**kw)


def _driver(options, event_filter, *, per_packet: bool = False, progress: bool = False):
    """The one driver (wsdissect.run), with file problems warned about on stderr and an optional progress bar."""
    from .run import Driver

    return Driver(options, event_filter, per_packet=per_packet, on_problem=_warn,
                  records=_with_progress if progress and sys.stderr.isatty() else None)


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
    from .errors import WsdissectError

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


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="wsdissect", prog_name="wsdissect")
def main():
    """wsdissect: see exactly what went over the wire in WebSocket traffic.

    Reads pcap/pcapng captures (or sniffs live), reassembles TCP, finds HTTP upgrades on any port, decodes every
    RFC 6455 frame and message (permessage-deflate included) and reports what is wrong as expert info.
    """


def _view_run(captures, kw, *, packets=False, frames=False):
    """The driver of a view command, its opened captures (a bad input fails here), its filter and the console."""
    decode = _split(kw, DECODE)
    flt = _filter(**_split(kw, FILTER))
    term = _split(kw, TERMINAL)
    driver = _driver(_options(**decode, packets=packets, frames=frames), flt, per_packet=packets,
                     progress=not term["quiet"])
    return driver, driver.open(captures), flt, _console(term["color"], term["width"])


@main.command()
@click.argument("captures", nargs=-1, required=True, metavar="CAPTURE...")
@click.option("-V", "--detail", is_flag=True, help="Print a detail tree per packet (Frame/Ethernet/IP/TCP/HTTP/"
                                                     "WebSocket) instead of the packet list.")
@click.option("--frame", "frames_", multiple=True, type=int, metavar="N", help="Detail tree of frame N only.")
@click.option("-w", "--websocket", "websocket_only", is_flag=True,
              help="Only packets carrying WebSocket frames or the HTTP handshake.")
@_decode_options
@_filter_options
@_terminal_options
def show(captures, detail, frames_, websocket_only, **kw):
    """Wireshark-style packet list, or detail trees with -V."""

    def run():
        from .render.packets import PacketListView, group_by_packet
        from .render.tree import DetailView

        driver, files, _flt, console = _view_run(captures, kw, packets=True, frames=True)
        if detail or frames_:
            view = DetailView(console, set(frames_) if frames_ else None, websocket_only)
        else:
            view = PacketListView(console, websocket_only)
        for pkt, events in group_by_packet(driver.events(files)):
            view.group(pkt, events)
        view.end()
        _damaged_exit(driver)

    _guard(run)


@main.command()
@click.argument("captures", nargs=-1, required=True, metavar="CAPTURE...")
@click.option("--hex-limit", default=256, show_default=True, help="Bytes of each binary message shown as hex.")
@click.option("--raw", is_flag=True, help="Show payloads as text/hex even where application units were decoded.")
@_decode_options
@_filter_options
@_terminal_options
def follow(captures, hex_limit, raw, **kw):
    """One connection as a conversation (use --stream N; all WebSocket connections otherwise)."""

    def run():
        from .render.follow import FollowView

        driver, files, _flt, console = _view_run(captures, kw)
        view = FollowView(console, hex_limit, units=not raw)
        driver.feed(files, _each(view.event))
        view.end()
        _damaged_exit(driver)

    _guard(run)


@main.command()
@click.argument("captures", nargs=-1, required=True, metavar="CAPTURE...")
@click.option("-f", "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--plot", is_flag=True, help="Also draw messages per second over time per connection (sparklines).")
@_decode_options
@_filter_options
@_terminal_options
def stats(captures, fmt, plot, **kw):
    """Per-connection statistics: messages and bytes per direction and opcode, closes, ping RTT, totals."""

    def run():
        from .render.stats import StatsCollector, render_stats
        from .report.aggregate import ReportAggregator, plot_json, tee

        driver, files, flt, console = _view_run(captures, kw)
        st = StatsCollector(recount=flt.narrows_messages)
        agg = ReportAggregator() if plot else None
        driver.feed(files, _each(st.event if agg is None else tee(st.event, agg.event)))
        if fmt == "json":
            import json
            doc = {"connections": st.rows, "totals": st.totals()}
            if st.app.tallies:
                doc["app"] = st.app.to_json()
            if agg is not None:
                doc["plot"] = plot_json(agg.result())
            click.echo(json.dumps(doc, indent=2))  # ASCII: terminal-safe
        else:
            render_stats(console, st)
            if agg is not None:
                from .render.sparkline import render_sparklines
                render_sparklines(console, agg.result())
        _damaged_exit(driver)

    _guard(run)


@main.command()
@click.argument("captures", nargs=-1, required=True, metavar="CAPTURE...")
@click.option("-s", "--severity", type=click.Choice(["chat", "note", "warning", "error"]), default="chat",
              show_default=True, help="Lowest severity shown.")
@click.option("-v", "--verbose", is_flag=True, help="List every finding under its group.")
@click.option("-f", "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@_decode_options
@_filter_options
@_terminal_options
def expert(captures, severity, verbose, fmt, **kw):
    """Expert information: findings grouped by severity and code, with counts."""

    def run():
        from .findings import Severity
        from .render.expert import ExpertCollector, render_expert

        driver, files, _flt, console = _view_run(captures, kw)
        ex = ExpertCollector(Severity[severity.upper()])
        driver.feed(files, _each(ex.event))
        if fmt == "json":
            import json
            click.echo(json.dumps(ex.as_json(), indent=2))
        else:
            render_expert(console, ex, verbose)
        _damaged_exit(driver)

    _guard(run)


@main.command()
@click.argument("captures", nargs=-1, required=True, metavar="CAPTURE...")
@click.option("-T", "--format", "fmt", type=click.Choice(export_formats()), default="jsonl", show_default=True,
              help="jsonl, json, csv (messages), parquet (-o DIR: three tables), har (HAR 1.2, Chrome's WebSocket "
                   "entries).")
@click.option("-f", "fmt_alias", type=click.Choice(export_formats()), hidden=True)  # the old spelling of -T
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
def export(captures, fmt, fmt_alias, output, expert_level, jobs, **kw):
    """Export messages, connections and expert info as JSONL, JSON, CSV, Parquet or HAR (see docs/export.md)."""

    def run():
        from .export.formats import ExportSettings, open_export
        from .findings import Severity

        options = _options(**_split(kw, DECODE))
        flt = _filter(**_split(kw, FILTER))
        fmt_ = fmt_alias or fmt
        settings = ExportSettings(99 if expert_level == "none" else Severity[expert_level.upper()],
                                  named=len(captures) > 1)
        engine = _split(kw, ENGINE)
        if engine["engine"] == "dask" or (engine["engine"] and fmt_ == "parquet"):  # a dataset: DIR/<table>/part-*
            _export_dataset(captures, fmt_, output, options, flt, settings.min_severity, engine, jobs)
            return
        parallel = jobs > 1 and len(captures) > 1 and "-" not in captures  # stdin cannot be shared by workers
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
        driver = _driver(options, flt)
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
@click.argument("captures", nargs=-1, required=True, metavar="CAPTURE...")
@click.option("-o", "--output", required=True, metavar="FILE", help="The HTML file to write ('-' for stdout).")
@click.option("--title", metavar="TEXT", help="Page title (default: the capture file names).")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
@_decode_options
@_filter_options
def report(captures, output, title, quiet, **kw):
    """One self-contained HTML page with charts and tables (see docs/report.md)."""

    def run():
        from .report.aggregate import ReportAggregator
        from .report.html import describe_filters, write_report

        filters = _split(kw, FILTER)
        driver = _driver(_options(**_split(kw, DECODE)), _filter(**filters), progress=not quiet)
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
@click.option("-c", "--count", type=int, metavar="N", help="Stop after N packets.")
@click.option("--duration", type=float, metavar="S", help="Stop after S seconds.")
@click.option("--export", "export_path", metavar="FILE", help="Append message records to FILE as they happen.")
@click.option("--format", "fmt", type=click.Choice(["jsonl"]), default="jsonl", show_default=True,
              help="Format of --export.")
@click.option("-s", "--snaplen", type=int, default=262144, show_default=True, help="Bytes captured per packet.")
@click.option("--idle-timeout", type=float, default=300.0, show_default=True, metavar="S",
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
        session = LiveSession(capture, _options(**decode, packets=views, frames=views), flt,
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
@_decode_options
@_filter_options
def tui(capture, iface, bpf, **kw):
    """Browse a capture (or a live interface) in three panes: packet list, detail tree, bytes (docs/tui.md)."""

    def run():
        from .tui import require_textual

        require_textual()
        from .tui.filter_text import FilterLanguage
        from .tui.launch import run_tui

        decode, language = _split(kw, DECODE), FilterLanguage(_filter_options, _filter)
        _options(**decode)  # bad sizes or ports fail here, before the screen is taken
        status = run_tui(capture, iface, bpf, lambda: _options(**decode), language, language.text_of(kw))
        sys.exit(status)

    _guard(run)
