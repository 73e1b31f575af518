"""What ``burnafter open`` writes: files under safe names, inside the output folder,
never over another file, and only whole.

A received file is written first under a hidden partial name beside its final one
(which is reserved, empty, at once), and takes its final name only when the whole
content has proved itself (the last segment opened): a content that fails to open,
a cut download or Ctrl-C leaves no file that looks whole."""

from __future__ import annotations

import os
import tempfile
import unicodedata
from pathlib import Path
from typing import BinaryIO

from services.client.api_client import ClientError
from services.client.translated import _
from services.protocol.content import Header


def safe_name(name: str) -> str:
    """A sender's file name as we print and write it: no folders, not hidden, and no
    control or format characters (a terminal escape sequence starts with one, and a
    right-to-left override disguises an extension); each becomes ``_``."""
    base = Path(name.replace("\\", "/")).name.lstrip(".")
    cleaned = "".join("_" if unicodedata.category(ch) in ("Cc", "Cf") else ch for ch in base)
    return cleaned or "file"


def safe_targets(folder: Path, names: list[str]) -> list[Path]:
    """Where each file goes: under ``folder`` only, never over an existing file, and
    no two files on one path. The next free number of each name is remembered, so
    a thousand files of one name cost about a thousand look-ups, not half a million."""
    taken: set[Path] = set()
    next_number: dict[str, int] = {}
    targets = []
    for name in names:
        base = safe_name(name)
        stem, suffix, n = Path(base).stem, Path(base).suffix, next_number.get(base, 0)
        candidate = folder / base if n == 0 else folder / f"{stem} ({n}){suffix}"
        while candidate in taken or candidate.exists():
            n += 1
            candidate = folder / f"{stem} ({n}){suffix}"
        next_number[base] = n + 1
        taken.add(candidate)
        targets.append(candidate)
    return targets


def _cannot_write(path: Path, exc: OSError) -> ClientError:
    # Translators: %(reason)s is the operating system's, such as "No space left on device".
    message = _("cannot write %(path)s: %(reason)s")
    return ClientError(message % {"path": path, "reason": exc.strerror})


class FolderSink:
    """An opened content's files, written under ``folder`` (see the module); a
    ``services.client.contents.Sink``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.targets: list[Path] = []
        self._partials: list[Path] = []
        self._writing: tuple[int, BinaryIO] | None = None

    def begin(self, header: Header) -> None:
        for target in safe_targets(self.folder, [entry.name for entry in header.files]):
            try:
                target.open("xb").close()  # reserved: nobody else's file is ever replaced
                self.targets.append(target)
                handle, partial = tempfile.mkstemp(
                    dir=self.folder, prefix=f".{target.name}.", suffix=".partial"
                )
            except OSError as exc:
                raise _cannot_write(target, exc) from None
            os.close(handle)
            self._partials.append(Path(partial))

    def write(self, file: int, data: bytes) -> None:
        if self._writing is None or self._writing[0] != file:
            self._close()
            self._writing = (file, self._partials[file].open("wb"))
        try:
            self._writing[1].write(data)
        except OSError as exc:
            raise _cannot_write(self.targets[file], exc) from None

    def _close(self) -> None:
        if self._writing is not None:
            self._writing[1].close()
            self._writing = None

    def finish(self) -> None:
        self._close()
        for partial, target in zip(self._partials, self.targets, strict=True):
            try:
                partial.chmod(target.stat().st_mode)  # as any file the user creates
                partial.replace(target)  # over the empty file reserved in begin()
            except OSError as exc:
                raise _cannot_write(target, exc) from None

    def discard(self) -> None:
        self._close()
        for path in [*self._partials, *self.targets]:
            path.unlink(missing_ok=True)
