"""Guards of the command line's start-up cost (deterministic: what is imported and made, not how long it takes)."""
from __future__ import annotations

import re
import subprocess
import sys

from wsdissect import events
from wsdissect.cli import main

HEAVY = ("rich", "orjson", "pandas", "pyarrow", "wsdissect.events", "wsdissect.render.packets", "wsdissect.run")


def test_the_command_tree_and_help_import_no_decoder_and_no_renderer() -> None:
    code = ("import sys; from wsdissect.cli import main\n"
            "try:\n    main(['show', '--help'])\nexcept SystemExit:\n    pass\n"
            f"print(sorted(m for m in {HEAVY!r} if m in sys.modules), file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "Wireshark-style packet list" in done.stdout
    assert done.stderr.strip() == "[]"


def test_commands_share_the_option_groups() -> None:
    def option(command: str, name: str):
        return next(p for p in main.commands[command].params if p.name == name)

    for name in ("max_message", "streams", "display", "color"):
        assert option("show", name) is option("follow", name)
    assert option("show", "max_message") is option("export", "max_message")


def test_event_methods_are_not_generated_source() -> None:
    """``@frozen_record`` compiles no ``__eq__``/``__hash__``/``__repr__`` per class (dataclass's are ``exec``'d)."""
    for cls in (events.Packet, events.Message, events.WsFrame, events.ConnectionEnd):
        for method in ("__eq__", "__hash__", "__repr__"):
            assert re.search(r"wsdissect[/\\]record\.py$", getattr(cls, method).__code__.co_filename)
