"""How much a content may hold under a server's ``max_content_bytes``: the same
computation, and so the same number, as the web page (services/web/static/js/sizes.js).

A content (protocol v2) is a header, then the files' bytes
(``services.protocol.content``); the limit is on their sum, before padding and
sealing (the server checks the sealed size that sum gives, ``max_sealed_bytes``).
The header holds the text and its length and the file count (FRAME_BYTES), then
per file its name, type, their lengths and its size (FILE_FRAME_BYTES). The number
people are told is the limit itself, as ``GET /limits``, the settings and the API's
refusal say it: names and types count in it."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from services.client.translated import _, decimal, ngettext

FRAME_BYTES = 4 + 2  # text length, file count
FILE_FRAME_BYTES = 2 + 2 + 8  # name length, type length, size
KiB = 1024
MiB = 1024 * KiB


class Sized(Protocol):
    """A file as the header lists it: ``content.FileEntry``, or a file to send."""

    @property
    def name(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def size(self) -> int: ...


@dataclass(frozen=True)
class Budget:
    frame: int  # what the header and the files' bytes may weigh together
    shown: int  # the number people are told: the same (sizes.js keeps both names)


def largest_frame(max_content_bytes: int) -> int:
    """The largest plaintext total a content may have: the limit itself."""
    return max(0, max_content_bytes)


def budget(max_content_bytes: int) -> Budget:
    frame = largest_frame(max_content_bytes)
    return Budget(frame, frame)


def file_weight(file: Sized) -> int:
    return FILE_FRAME_BYTES + len(file.name.encode()) + len(file.type.encode()) + file.size


def content_weight(text: str, files: Sequence[Sized]) -> int:
    """The header and the files' bytes: what ``max_content_bytes`` limits."""
    return FRAME_BYTES + len(text.encode()) + sum(file_weight(file) for file in files)


def files_over(text: str, files: Sequence[Sized], frame: int) -> tuple[bool, list[Sized]]:
    """Whether the text alone is over ``frame``, and the files that do not fit beside
    it, taken in order (as the page marks them)."""
    weight = FRAME_BYTES + len(text.encode())
    text_over = weight > frame
    over = []
    for file in files:
        adds = file_weight(file)
        if text_over or weight + adds > frame:
            over.append(file)
        else:
            weight += adds
    return text_over, over


def format_size(count: int, *, down: bool = False) -> str:
    """A byte count as the page writes it: "980 bytes", "9.5 KB", "1007 KB", "3.5 MB"
    (in the language of the command: services/client/translated.py). ``down`` rounds
    down, for a limit: never promise more than holds."""

    def rounded(value: float, digits: int) -> float:
        scale: int = 10**digits
        whole = math.floor(value * scale) if down else math.floor(value * scale + 0.5)
        return whole / scale

    if count < KiB:
        return ngettext("%(count)s byte", "%(count)s bytes", count) % {"count": decimal(count)}
    if count < MiB:
        digits = 1 if count < 10 * KiB else 0
        # Translators: a size in KB of 1024 bytes, as the web page writes it ("9.5 KB").
        return _("%(size)s KB") % {"size": decimal(rounded(count / KiB, digits), digits)}
    # Translators: a size in MB of 1024 KB, as the web page writes it ("3.5 MB").
    return _("%(size)s MB") % {"size": decimal(rounded(count / MiB, 1), 1)}
