"""How much a secret may hold under a server's ``max_ciphertext_bytes``: the same
computation, and so the same number, as the web page (services/web/static/js/sizes.js).

A secret's text and files are framed and padded (``envelope.encode_payload``), then
sealed: version, nonce and tag add SEAL_BYTES. The largest frame that still seals
within the limit is found exactly; the number people are told is that frame, less
the frame's own bytes for one file with the longest name and type, rounded down."""

from __future__ import annotations

import math
from dataclasses import dataclass

from services.protocol.envelope import MAX_NAME_BYTES, Payload, SecretFile, padded_length

SEAL_BYTES = 1 + 12 + 16  # version, AES-GCM nonce and tag
FRAME_BYTES = 4 + 2  # text length, file count
FILE_FRAME_BYTES = 2 + 2 + 4  # name length, type length, data length
KiB = 1024
MiB = 1024 * KiB


def largest_frame(max_ciphertext_bytes: int) -> int:
    """The largest framed payload whose sealed ciphertext fits the limit."""

    def fits(length: int) -> bool:
        return padded_length(length) + SEAL_BYTES <= max_ciphertext_bytes

    if not fits(0):
        return 0
    low, high = 0, max_ciphertext_bytes  # fits(low), and nothing above high fits
    while low < high:
        middle = (low + high + 1) // 2
        if fits(middle):
            low = middle
        else:
            high = middle - 1
    return low


@dataclass(frozen=True)
class Budget:
    frame: int  # what the frame may weigh
    shown: int  # what people are promised: any file of that size fits, whatever its name


def budget(max_ciphertext_bytes: int) -> Budget:
    frame = largest_frame(max_ciphertext_bytes)
    one_file = FRAME_BYTES + FILE_FRAME_BYTES + 2 * MAX_NAME_BYTES
    return Budget(frame, max(0, frame - one_file))


def file_weight(file: SecretFile) -> int:
    return FILE_FRAME_BYTES + len(file.name.encode()) + len(file.type.encode()) + len(file.data)


def files_over(payload: Payload, frame: int) -> tuple[bool, list[SecretFile]]:
    """Whether the text alone is over ``frame``, and the files that do not fit beside
    it, taken in order (as the page marks them)."""
    weight = FRAME_BYTES + len(payload.text.encode())
    text_over = weight > frame
    over = []
    for file in payload.files:
        adds = file_weight(file)
        if text_over or weight + adds > frame:
            over.append(file)
        else:
            weight += adds
    return text_over, over


def format_size(count: int, *, down: bool = False) -> str:
    """A byte count as the page writes it: "980 bytes", "9.5 KB", "1007 KB", "3.5 MB".
    ``down`` rounds down, for a limit: never promise more than holds."""

    def rounded(value: float, digits: int) -> float:
        scale: int = 10**digits
        whole = math.floor(value * scale) if down else math.floor(value * scale + 0.5)
        return whole / scale

    if count < KiB:
        return f"{count} bytes"
    if count < MiB:
        digits = 1 if count < 10 * KiB else 0
        return f"{rounded(count / KiB, digits):.{digits}f} KB"
    return f"{rounded(count / MiB, 1):.1f} MB"
