"""Where an export is written: stdout, one file, or a folder of files, never over an input, never half.

Every file is written under a temporary name in its final folder and renamed into place by :meth:`commit`, so an
interrupted or failed export leaves no partial file under the final name (stdout, devices and FIFOs are written as
it goes).  An
output that is one of the inputs (the same device and inode: the same path, a hard link or a symbolic link to it)
is refused before anything is created.
"""
from __future__ import annotations

import os
import stat
import sys
import tempfile
from typing import BinaryIO, Iterable

from ..errors import UsageError, WsdissectError

STDOUT = "-"


class OutputError(WsdissectError):
    """The output cannot be created or written (exit status 4)."""

    exit_status = 4


def _identity(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


def refuse_inputs(targets: Iterable[str], inputs: Iterable[str]) -> None:
    """UsageError when a target path is the same file as an input (device and inode, links followed)."""
    seen = {}
    for p in inputs:
        ident = _identity(p) if p != STDOUT else None
        if ident is not None:
            seen[ident] = p
    for t in targets:
        ident = _identity(t)
        if ident is not None and ident in seen:
            raise UsageError(f"{t}: the output is the input {seen[ident]}; choose another output path")


def _replaceable(path: str) -> bool:
    """True when *path* is a regular file or does not exist: it can be written atomically by a rename.  A device,
    FIFO or terminal (``/dev/null``, ``/dev/stdout``, a named pipe) is written in place instead."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return True


class AtomicFile:
    """A binary file written as ``.NAME.XXXX.tmp`` beside *path* and renamed to *path* by :meth:`commit`; a path
    that is not a regular file (a device, a FIFO) is opened and written directly.  A symbolic link is followed:
    the file it points to is replaced, the link stays."""

    def __init__(self, path: str):
        self.path = path
        self.tmp: str | None = None
        try:
            if not _replaceable(path):
                self.file: BinaryIO = open(path, "wb")
                return
            target = os.path.realpath(path) if os.path.islink(path) else path
            fd, self.tmp = tempfile.mkstemp(prefix=f".{os.path.basename(target)}.", suffix=".tmp",
                                            dir=os.path.dirname(os.path.abspath(target)))
        except OSError as e:
            raise OutputError(f"{path}: cannot write: {e.strerror or e}") from None
        self.target = target
        self.file = os.fdopen(fd, "wb")

    def commit(self) -> None:
        """Close and rename into place (the mode of a new file follows the umask, as ``open`` would give)."""
        self.file.close()
        if self.tmp is None:
            return
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(self.tmp, 0o666 & ~umask)
        os.replace(self.tmp, self.target)

    def abort(self) -> None:
        """Close and remove the temporary file; the final name is left as it was."""
        try:
            self.file.close()
        except OSError:
            pass
        if self.tmp is not None:
            try:
                os.unlink(self.tmp)
            except OSError:
                pass


class Destination:
    """An export's output: stdout (``-``), a file, or (``folder=True``) a folder holding named members."""

    def __init__(self, path: str, inputs: Iterable[str], folder: bool = False):
        self.path = path
        self.folder = folder
        self.files: list[AtomicFile] = []
        self.inputs = list(inputs)
        if folder and path == STDOUT:
            raise UsageError("this format writes several files: give -o DIR")
        if not folder:
            refuse_inputs([path] if path != STDOUT else [], self.inputs)

    def stream(self) -> BinaryIO:
        """The one output stream of a single-file format."""
        if self.path == STDOUT:
            return sys.stdout.buffer
        f = AtomicFile(self.path)
        self.files.append(f)
        return f.file

    def member(self, name: str) -> BinaryIO:
        """A file in the output folder (created if needed), written atomically like :meth:`stream`."""
        target = os.path.join(self.path, name)
        refuse_inputs([target], self.inputs)
        try:
            os.makedirs(self.path, exist_ok=True)
        except OSError as e:
            raise OutputError(f"{self.path}: cannot create the folder: {e.strerror or e}") from None
        f = AtomicFile(target)
        self.files.append(f)
        return f.file

    def commit(self) -> None:
        """Everything was written: move every file into place."""
        if self.path == STDOUT:
            sys.stdout.buffer.flush()
        for f in self.files:
            f.commit()

    def abort(self) -> None:
        """The export failed or was interrupted: remove the temporary files."""
        for f in self.files:
            f.abort()
