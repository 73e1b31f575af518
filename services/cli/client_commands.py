"""The client commands of ``burnafter``: send, open, delete, status, revoke (and the
pieces that ``request`` and ``answer`` share with them: services/cli/request_commands.py).
``open`` and ``status`` also take a request's collect link.

Errors are one line on stderr (with ``--json``, one JSON object: ``{"error": …,
"code": …}``) and a distinct exit code (see ``ExitCode``); none repeats a link, key
or token, and each names the flag, variable or file at fault and the operating
system's words for what went wrong.

A link holds its key after ``#`` (a receipt link, the key to the manage token), so
``open``, ``delete``, ``status`` and ``revoke`` also read it from standard input (a
prompt that does not echo, on a terminal) or from ``--link-file``: a command line can
be read by every local user in ``/proc/PID/cmdline``, and the shell keeps it in its
history.

Text on standard input follows the convention of text files: its lines end with a
newline. ``send`` takes one final newline off (``echo secret | burnafter send`` sends
``secret``), and ``open`` puts one back (``burnafter open`` prints ``secret`` and a
newline), so ``burnafter open | burnafter send`` sends the same secret again, and a
file sent with ``send < FILE`` comes back whole with ``open > FILE``."""

from __future__ import annotations

import argparse
import asyncio
import errno
import json
import mimetypes
import os
import re
import stat
import sys
import unicodedata
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

from services.cli.received import FolderSink, safe_name, safe_targets
from services.cli.terminal import (
    MoreThanOneLine,
    NoTerminal,
    ProgressLine,
    ask_hidden,
    columns,
    end_prompt_line,
    padded,
)
from services.client import api_client, contents, requests, sizes
from services.client.api_client import (
    Api,
    ApiError,
    ClientError,
    InsecureServer,
    NoAnswer,
    Sent,
    ServerUnreachable,
    check_transport,
)
from services.client.contents import ContentFile, Opened, Recipient
from services.client.links import (
    MAX_LINK_CHARS,
    WHAT,
    Link,
    LinkKind,
    MalformedLink,
    parse_link,
    refused,
)
from services.client.settings import TIMEOUT_RANGE, ClientSettings, is_server_url
from services.client.translated import N_, _, date_time, ngettext
from services.protocol.envelope import LABEL_BYTES, EnvelopeError

T = TypeVar("T")

__all__ = ["safe_name", "safe_targets"]  # where they were before services/cli/received.py


class ExitCode(IntEnum):
    OK = 0
    ERROR = 1
    USAGE = 2
    GONE = 3
    PASSPHRASE = 4
    UNREACHABLE = 5
    MALFORMED_LINK = 6
    NOT_ALLOWED = 7  # a recipient's delete that the sender did not allow, files not asked for
    ANSWERED = 8  # a request that was answered already: it takes one answer
    NOT_ANSWERED = 9  # a collect link's request, not answered yet: try again later
    INTERRUPTED = 130  # Ctrl-C, as a shell reports it


class CliError(Exception):
    def __init__(self, message: str, code: ExitCode = ExitCode.ERROR) -> None:
        super().__init__(message)
        self.code = code


# The words of burnafter, for counts: "1 view left", "N views left". A count within a
# sentence is a message of the whole sentence (ngettext), as a language may inflect it.


def views_left(count: int) -> str:
    return ngettext("%(count)s view left", "%(count)s views left", count) % {"count": count}


def attempts_left(count: int) -> str:
    # Translators: passphrase attempts.
    return ngettext("%(count)s attempt left", "%(count)s attempts left", count) % {"count": count}


def wrong_passphrases(count: int) -> str:
    return ngettext("%(count)s wrong passphrase", "%(count)s wrong passphrases", count) % {
        "count": count
    }


def moment(timestamp: str) -> str:
    """An API timestamp as a person reads it: ``2026-11-30 15:20 UTC``, in UTC, in
    the language's way (services/client/translated.py)."""
    try:
        when = datetime.fromisoformat(timestamp)
    except ValueError:
        return timestamp
    # Translators: a date and time, such as "2026-11-30 15:20", in UTC.
    return _("%(moment)s UTC") % {"moment": date_time(when)}


# Argument types: argparse prefixes each message with "argument --FLAG: ".

_DURATION = re.compile(r"^(\d+)([smhd])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> int:
    """``90s``, ``30m``, ``1h``, ``7d`` → seconds."""
    match = _DURATION.match(text.strip())
    if not match:
        raise argparse.ArgumentTypeError(
            _("%(value)r is not a duration like 30m, 1h or 7d") % {"value": text}
        )
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def parse_views(text: str) -> int:
    if not (text.strip().isascii() and text.strip().isdigit()) or int(text) < 1:
        raise argparse.ArgumentTypeError(
            _("%(value)r is not a whole number of views, 1 or more") % {"value": text}
        )
    return int(text)


def parse_timeout(text: str) -> float:
    lo, hi = TIMEOUT_RANGE
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not lo <= value <= hi:
        raise argparse.ArgumentTypeError(
            _("%(value)r is not a number of seconds from %(lo)s to %(hi)s")
            % {"value": text, "lo": f"{lo:g}", "hi": f"{hi:g}"}
        )
    return value


def parse_recipient_name(text: str) -> str:
    """A name of ``--to``: one line of UTF-8 text, at most ``LABEL_BYTES`` bytes.
    The message never repeats it (a name is the sender's private note)."""
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError:
        raise argparse.ArgumentTypeError(_("a name is UTF-8 text")) from None
    if not text.strip():
        raise argparse.ArgumentTypeError(_("a name is not empty"))
    if any(unicodedata.category(ch) == "Cc" for ch in text):
        raise argparse.ArgumentTypeError(_("a name is one line, without control characters"))
    if size > LABEL_BYTES:
        raise argparse.ArgumentTypeError(
            _("a name is at most %(most)s bytes of UTF-8 text; one is %(size)s")
            % {"most": LABEL_BYTES, "size": size}
        )
    return text


def shown_name(name: str, keep: str = "") -> str:
    """A recipient's name (or a request's note, which ``keep``s its newlines) as
    printed: no control or format characters (a terminal escape sequence starts with
    one, a right-to-left override reorders the line)."""
    return "".join(
        "_" if unicodedata.category(ch) in ("Cc", "Cf") and ch not in keep else ch for ch in name
    )


def parse_server(text: str) -> str:
    if not is_server_url(text.strip()):
        raise argparse.ArgumentTypeError(
            _("%(value)r is not an http(s) URL such as https://burnafter.example.com")
            % {"value": text}
        )
    return text.strip()


# Passphrases: from a file, or asked for on the terminal.


def read_passphrase_file(path: str) -> str:
    """The content of the file ``path``, less one final newline."""
    try:
        text = Path(path).read_text("utf-8")
    except OSError as exc:
        raise CliError(f"--passphrase-file {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise CliError(_("--passphrase-file %(path)s: not UTF-8 text") % {"path": path}) from None
    passphrase = text.removesuffix("\n").removesuffix("\r")
    if not passphrase:
        raise CliError(_("--passphrase-file %(path)s: the file is empty") % {"path": path})
    return passphrase


def _ask(prompt: str, flag: str) -> bytes:
    """One hidden line from the terminal; Ctrl-D and a missing terminal end the
    command with one line (Ctrl-C with "interrupted", as everywhere)."""
    try:
        return ask_hidden(prompt)
    except NoTerminal:
        if flag == "--passphrase":
            message = _("--passphrase asks on a terminal, and there is none: use --passphrase-file")
        else:
            message = _(
                "%(flag)s asks on a terminal, and there is none: give it on standard input"
            ) % {"flag": flag}
        raise CliError(message, ExitCode.USAGE) from None
    except EOFError:
        end_prompt_line()
        raise CliError(_("nothing given at the prompt"), ExitCode.USAGE) from None


def ask_passphrase(confirm: bool) -> str:
    """The passphrase, asked for without echo; twice when ``confirm`` (a sender's
    typo would lock the recipient out, and nobody could tell)."""
    try:
        # Translators: a prompt on the terminal; what is typed is not shown.
        first = _ask(_("passphrase (not shown): "), "--passphrase").decode("utf-8")
        if first and confirm:
            # Translators: a prompt on the terminal, to type the passphrase a second time.
            again = _ask(_("the passphrase again: "), "--passphrase").decode("utf-8")
            if again != first:
                raise CliError(_("the two passphrases differ; nothing was sent"), ExitCode.USAGE)
    except UnicodeDecodeError:
        raise CliError(_("the passphrase is not UTF-8 text"), ExitCode.USAGE) from None
    except MoreThanOneLine:
        raise CliError(_("a passphrase is one line"), ExitCode.USAGE) from None
    if not first:
        raise CliError(_("no passphrase given"), ExitCode.USAGE)
    return first


def passphrase_from_flags(args: argparse.Namespace, confirm: bool) -> str | None:
    if args.passphrase_file is not None:
        return read_passphrase_file(args.passphrase_file)
    if args.ask_passphrase:
        return ask_passphrase(confirm)
    return None


# Links: from the command line, a file or standard input.

Kinds = tuple[LinkKind, ...]


@dataclass(frozen=True)
class _LinkWords:
    """What a command says of the links it takes: whole sentences for each set of
    kinds, as a language may inflect a link's name."""

    not_a: str  # a refusal, before its reason
    prompt: str
    argument: str  # the help of the link's argument
    link_file: str  # the help of --link-file


_LINK_WORDS: dict[Kinds, _LinkWords] = {
    ("s", "c"): _LinkWords(
        N_("that is not a share link or collect link"),
        # Translators: a prompt on the terminal; what is typed is not shown.
        N_("share link or collect link (not shown): "),
        N_(
            "the share link or collect link; omit it or give - to read it from standard "
            "input (safer)"
        ),
        N_(
            "read the share link or collect link from the first line of PATH, a file only "
            "you can read"
        ),
    ),
    ("s",): _LinkWords(
        N_("that is not a share link"),
        # Translators: a prompt on the terminal; what is typed is not shown.
        N_("share link (not shown): "),
        N_("the share link; omit it or give - to read it from standard input (safer)"),
        N_("read the share link from the first line of PATH, a file only you can read"),
    ),
    ("r", "c"): _LinkWords(
        N_("that is not a receipt link or collect link"),
        # Translators: a prompt on the terminal; what is typed is not shown.
        N_("receipt link or collect link (not shown): "),
        N_(
            "the receipt link or collect link; omit it or give - to read it from standard "
            "input (safer)"
        ),
        N_(
            "read the receipt link or collect link from the first line of PATH, a file only "
            "you can read"
        ),
    ),
    ("r",): _LinkWords(
        N_("that is not a receipt link"),
        # Translators: a prompt on the terminal; what is typed is not shown.
        N_("receipt link (not shown): "),
        N_("the receipt link; omit it or give - to read it from standard input (safer)"),
        N_("read the receipt link from the first line of PATH, a file only you can read"),
    ),
    # ``answer``: standard input carries the answer, so the link comes from it only on a
    # terminal.
    ("q",): _LinkWords(
        N_("that is not a fill link"),
        # Translators: a prompt on the terminal; what is typed is not shown.
        N_("fill link (not shown): "),
        N_("the fill link; omit it to be asked on the terminal (safer)"),
        N_("read the fill link from the first line of PATH, a file only you can read"),
    ),
}

# A link of another kind than a command takes: by the kind given and the kind the
# command takes first.
_NOT_THAT: dict[tuple[LinkKind, LinkKind], str] = {
    ("r", "s"): N_("that is a receipt link, not a share link"),
    ("q", "s"): N_("that is a fill link, not a share link"),
    ("c", "s"): N_("that is a collect link, not a share link"),
    ("s", "r"): N_("that is a share link, not a receipt link"),
    ("q", "r"): N_("that is a fill link, not a receipt link"),
    ("c", "r"): N_("that is a collect link, not a receipt link"),
    ("s", "q"): N_("that is a share link, not a fill link"),
    ("r", "q"): N_("that is a receipt link, not a fill link"),
    ("c", "q"): N_("that is a collect link, not a fill link"),
    ("s", "c"): N_("that is a share link, not a collect link"),
    ("r", "c"): N_("that is a receipt link, not a collect link"),
    ("q", "c"): N_("that is a fill link, not a collect link"),
}
# Which command takes a link of each kind, for a link given to the wrong one.
_TAKEN_BY: dict[LinkKind, str] = {
    "s": N_(
        "open it with `burnafter open` (that spends a view), or delete it with "
        "`burnafter delete` where its sender allowed that"
    ),
    "r": N_(
        "see the secret's state with `burnafter status`, or destroy it with `burnafter revoke`"
    ),
    "q": N_(
        "answer the request with `burnafter answer`; only the person who asked can open the answer"
    ),
    "c": N_(
        "open the answer with `burnafter open`, or see the request's state with `burnafter status`"
    ),
}


def _not_a(kinds: Kinds, reason: str) -> MalformedLink:
    return MalformedLink(refused(_(_LINK_WORDS[kinds].not_a), reason))


def parse_link_of_kind(text: str, kinds: Kinds) -> Link:
    """``text`` as a link of one of ``kinds``; a well-formed link of another kind gets a
    message that says which command takes it."""
    first_refusal: MalformedLink | None = None
    for kind in kinds:
        try:
            return parse_link(text, kind)
        except MalformedLink as exc:
            first_refusal = first_refusal or exc
    for other in WHAT:
        try:
            parse_link(text, other)
        except MalformedLink:
            continue
        refusal = _(_NOT_THAT[other, kinds[0]])
        raise MalformedLink(refused(refusal, _(_TAKEN_BY[other]))) from None
    assert first_refusal is not None
    raise first_refusal from None


def _first_line(stream: BinaryIO, path: str | None, kinds: Kinds) -> str:
    """The first line of ``stream``, stripped: the file ``path``, or standard input
    (``None``). Reads no more than a link can take."""
    limit = MAX_LINK_CHARS + 3  # room for surrounding blanks and a CRLF
    line = stream.readline(limit)
    file = {"file": path}
    if len(line) == limit and not line.endswith(b"\n"):
        if path is None:
            raise _not_a(kinds, _("the first line of standard input is too long"))
        raise _not_a(kinds, _("the first line of %(file)s is too long") % file)
    try:
        text = line.decode("utf-8").strip()
    except UnicodeDecodeError:
        if path is None:
            raise _not_a(kinds, _("standard input is not text")) from None
        raise _not_a(kinds, _("%(file)s is not text") % file) from None
    if not text:
        if path is None:
            raise CliError(_("no link: the first line of standard input is empty"), ExitCode.USAGE)
        raise CliError(_("no link: the first line of %(file)s is empty") % file, ExitCode.USAGE)
    return text


def _read_link_file(path: str, kinds: Kinds) -> str:
    """The first line of the file ``path``. A regular file that group or others may
    read is refused, as ssh refuses such a private key: the link would be theirs too."""
    try:
        with Path(path).open("rb") as file:
            mode = os.fstat(file.fileno()).st_mode
            if stat.S_ISREG(mode) and mode & (stat.S_IRGRP | stat.S_IROTH):
                raise CliError(
                    _(
                        "--link-file %(path)s: other users can read it: chmod 600 it, "
                        "or give the link on standard input"
                    )
                    % {"path": path}
                )
            return _first_line(file, path, kinds)
    except OSError as exc:
        raise CliError(
            _("--link-file %(path)s: cannot read it: %(reason)s")
            % {"path": path, "reason": exc.strerror}
        ) from None


def stdin_is_a_terminal() -> bool:
    return sys.stdin is not None and sys.stdin.isatty()


def link_from_stdin(argument: str | None, link_file: str | None) -> bool:
    return argument in (None, "-") and link_file is None


def _ask_link(kinds: Kinds) -> Link:
    """The link, asked for on the terminal without echo."""
    try:
        typed = ask_hidden(_(_LINK_WORDS[kinds].prompt))
        text = typed.decode("utf-8")
    except (EOFError, NoTerminal):
        end_prompt_line()
        raise CliError(_("no link given"), ExitCode.USAGE) from None
    except MoreThanOneLine:
        raise CliError(_("a link is one line; give one link"), ExitCode.USAGE) from None
    except UnicodeDecodeError:
        raise _not_a(kinds, _("it is not text")) from None
    if not text.strip():
        raise CliError(_("no link given"), ExitCode.USAGE)
    return parse_link_of_kind(text, kinds)


def read_link(argument: str | None, link_file: str | None, kinds: Kinds) -> Link:
    """The link from the command line (kept for compatibility), ``--link-file``, or
    standard input when ``argument`` is omitted or ``-``: a prompt without echo on a
    terminal, else the first line."""
    if link_file is not None and argument is not None:
        raise CliError(
            _("give the link as an argument or with --link-file, not both"), ExitCode.USAGE
        )
    if link_file is not None:
        return parse_link_of_kind(_read_link_file(link_file, kinds), kinds)
    if argument is not None and argument != "-":
        return parse_link_of_kind(argument, kinds)
    if stdin_is_a_terminal():
        return _ask_link(kinds)
    if sys.stdin is None:
        raise CliError(_("no link: standard input is closed"), ExitCode.USAGE)
    return parse_link_of_kind(_first_line(sys.stdin.buffer, None, kinds), kinds)


def _is_standard_input(path: str) -> bool:
    try:
        return os.path.samestat(Path(path).stat(), os.fstat(0))
    except OSError:
        return False


# The secret: text from standard input or the terminal, and files.


def _read_file(name: str) -> ContentFile:
    """A file to send, read as it is sent (and again from its start if an upload
    resumes). A pipe or a device (``--file /dev/stdin``, ``--file <(cmd)``) cannot be
    read twice and says no size, so it is read into memory here."""
    path = Path(name)
    kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    try:
        with path.open("rb") as file:
            status = os.fstat(file.fileno())
            if not stat.S_ISREG(status.st_mode):
                return ContentFile.from_bytes(path.name, kind, file.read())
    except OSError as exc:
        raise CliError(f"--file {name}: {exc.strerror}") from None

    def reopen() -> BinaryIO:
        try:
            return path.open("rb")
        except OSError as exc:
            raise CliError(f"--file {name}: {exc.strerror}") from None

    return ContentFile(path.name, kind, status.st_size, reopen)


def read_files(paths: list[str]) -> tuple[ContentFile, ...]:
    return tuple(_read_file(name) for name in paths)


def strip_final_newline(text: str) -> str:
    """The text a user means: without the one newline (LF or CRLF) that ends the
    last line of ``echo``, a heredoc or a text file. Only one: a blank line the
    user typed at the end is kept."""
    return text.removesuffix("\n").removesuffix("\r") if text.endswith("\n") else text


@dataclass(frozen=True)
class TextWords:
    """What a command that sends a text says of it (``send``: the secret; ``answer``:
    the answer)."""

    prompt: str
    none_given: str
    one_line: str


SECRET_WORDS = TextWords(
    # Translators: a prompt on the terminal; what is typed is not shown.
    N_("secret (not shown): "),
    N_("nothing to send: no secret given"),
    N_(
        "nothing was sent: the prompt takes one line; send several lines from a pipe or a "
        "file (burnafter send < FILE), or attach a file with --file"
    ),
)


def read_secret_text(has_files: bool, words: TextWords = SECRET_WORDS) -> str:
    """The text to send: on a terminal, asked for without echo (one line; not asked
    when files are given); otherwise standard input, less its final newline."""
    if sys.stdin is None:
        return ""
    if sys.stdin.isatty():
        if has_files:
            return ""
        try:
            typed = ask_hidden(_(words.prompt))
        except (EOFError, NoTerminal):
            end_prompt_line()
            raise CliError(_(words.none_given), ExitCode.USAGE) from None
        except MoreThanOneLine:
            raise CliError(_(words.one_line), ExitCode.USAGE) from None
        if not typed:
            raise CliError(_(words.none_given), ExitCode.USAGE)
        raw = typed
    else:
        raw = sys.stdin.buffer.read()
    try:
        return strip_final_newline(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise CliError(
            _("standard input is not UTF-8 text; send binary data with --file")
        ) from None


# What ``open`` writes: files under safe names, never over another file.


def _check_output_dir(path: str, explicit: bool) -> Path:
    """Before a view is spent: the folder exists (and, when the user named it, we
    may write into it)."""
    folder = Path(path)
    try:
        mode = folder.stat().st_mode
    except OSError as exc:
        raise CliError(f"--output-dir {path}: {exc.strerror}") from None  # the system's words
    if not stat.S_ISDIR(mode):
        raise CliError(f"--output-dir {path}: {os.strerror(errno.ENOTDIR)}")
    if explicit and not os.access(folder, os.W_OK | os.X_OK):
        raise CliError(f"--output-dir {path}: {os.strerror(errno.EACCES)}")
    return folder


# Talking to the server.


def run_exchange(coroutine: Coroutine[Any, Any, T]) -> T:
    """One network exchange. Prompts happen outside the event loop, so a Ctrl-C at a
    prompt interrupts at once (``asyncio.run`` would only cancel its task)."""
    return asyncio.run(coroutine)


def timeout_of(args: argparse.Namespace, settings: ClientSettings) -> float:
    timeout: float | None = args.timeout
    return settings.timeout if timeout is None else timeout


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=2))


def check_fits(
    text: str, files: Sequence[ContentFile], max_content_bytes: int, *, request: bool = False
) -> None:
    """Refuse, before encrypting, a secret the server would refuse, naming what does
    not fit and the limit (the server's, or a ``request``'s) in the web page's words
    and number."""
    room = sizes.budget(max_content_bytes)
    text_over, over = sizes.files_over(text, files, room.frame)
    if not text_over and not over:
        return
    limit = {"most": sizes.format_size(room.shown, down=True)}
    if text_over:
        size = sizes.format_size(len(text.encode()))
        message = (
            _("the text (%(size)s) is too large: this request takes at most %(most)s in all")
            if request
            else _("the text (%(size)s) is too large: this server takes at most %(most)s in all")
        )
        raise CliError(message % {"size": size, **limit})
    # Translators: a file that does not fit, in a list: "notes.txt (3.5 MB)".
    each = _("%(name)s (%(size)s)")
    # Translators: the separator of a list of files.
    named = _(", ").join(
        each % {"name": safe_name(file.name), "size": sizes.format_size(file.size)} for file in over
    )
    message = (
        _(
            "too large to send with the rest: %(files)s; this request takes at most %(most)s "
            "in all (text and files)"
        )
        if request
        else _(
            "too large to send with the rest: %(files)s; this server takes at most %(most)s "
            "in all (text and files)"
        )
    )
    raise CliError(message % {"files": named, **limit})


def _recipients_of(args: argparse.Namespace) -> list[str]:
    """The names of ``--to``, refused here when two are one (before anything else)."""
    names: list[str] = args.to
    try:
        contents.check_recipients([Recipient(name) for name in names])
    except ClientError as exc:
        raise CliError(f"--to: {exc}", ExitCode.USAGE) from None  # a flag, and a message
    return names


def check_recipient_count(count: int, limits: dict[str, Any]) -> None:
    """Refuse, before sealing anything, more recipients than the server takes."""
    if not count:
        return
    try:
        contents.check_recipients([Recipient(None)] * count, contents.max_recipients_of(limits))
    except ClientError as exc:
        # Translators: %(reason)s is a message, such as "too many recipients: 300; …".
        raise CliError(_("%(reason)s; nothing was sent") % {"reason": exc}) from None


def cmd_send(args: argparse.Namespace, settings: ClientSettings) -> None:
    server: str = args.server or settings.server
    check_transport(server, args.insecure)  # before asking anything
    names = _recipients_of(args)
    files = read_files(args.file)
    if (
        args.passphrase_file is not None
        and not files
        and not stdin_is_a_terminal()
        and _is_standard_input(args.passphrase_file)
    ):
        raise CliError(
            _(
                "the secret and the passphrase cannot both come from standard input: "
                "give the passphrase with --passphrase (asked for on the terminal) or in a file"
            ),
            ExitCode.USAGE,
        )
    # A passphrase file is read before the secret is asked for, and a passphrase
    # is asked for after it: every question comes after every file is found.
    passphrase = None if args.ask_passphrase else passphrase_from_flags(args, confirm=True)
    text = read_secret_text(bool(files))
    if not text and not files:
        raise CliError(_("nothing to send: pipe the secret on standard input, or give --file"))
    if args.ask_passphrase:
        passphrase = ask_passphrase(confirm=True)
    progress = ProgressLine()

    async def send() -> Sent:
        async with Api(
            server, timeout=timeout_of(args, settings), insecure=args.insecure,
            api_token=settings.api_token,
        ) as api:  # fmt: skip
            limits = await api.limits()
            segment_size = contents.segment_size_of(limits)
            check_recipient_count(len(names), limits)
            check_fits(text, files, limits["max_content_bytes"])
            recipients = [Recipient(name, passphrase, args.views) for name in names]
            return await contents.send(
                api,
                text,
                files,
                segment_size=segment_size,
                passphrase=None if names else passphrase,
                max_views=None if names else args.views,
                recipients=recipients,
                expires_in=args.expires,
                label=args.label,
                notify=tuple(args.notify),
                recipient_may_delete=args.recipient_may_delete,
                progress=progress,
            )

    try:
        sent = run_exchange(send())
    finally:
        progress.clear()
    if sent.recipients:
        _print_sent_to_several(sent, args.json)
        return
    if args.json:
        print_json(
            {
                "link": str(sent.link),
                "receipt": str(sent.receipt_link),
                "expires_at": sent.expires_at,
                "max_views": sent.max_views,
                "recipient_may_delete": sent.recipient_may_delete,
            }
        )
        return
    print(sent.link)
    until = moment(sent.expires_at)
    print(_viewable(sent.max_views, until, sent.recipient_may_delete), file=sys.stderr)
    print(_receipt_line(sent.receipt_link), file=sys.stderr)


def _viewable(count: int, until: str, deletable: bool) -> str:
    """What ``send`` says of its link: how many views, until when, and whether the
    recipient may delete it."""
    if count == 1 and deletable:
        message = _(
            "it can be viewed once, until %(until)s, and the recipient may delete it when done"
        )
    elif count == 1:
        message = _("it can be viewed once, until %(until)s")
    elif deletable:
        message = ngettext(
            "it can be viewed %(count)s time, until %(until)s, and the recipient may delete "
            "it when done",
            "it can be viewed %(count)s times, until %(until)s, and the recipient may delete "
            "it when done",
            count,
        )
    else:
        message = ngettext(
            "it can be viewed %(count)s time, until %(until)s",
            "it can be viewed %(count)s times, until %(until)s",
            count,
        )
    return message % {"count": count, "until": until}


def _each_viewable(count: int | None, until: str, deletable: bool) -> str:
    """What ``send --to`` says of its links: how many views each (``None``: not the
    same for all), until when, and whether its recipient may delete it."""
    if count is None:
        message = (
            _(
                "each link can be viewed as many times as its views, until %(until)s, and "
                "its recipient may delete it when done"
            )
            if deletable
            else _("each link can be viewed as many times as its views, until %(until)s")
        )
    elif count == 1:
        message = (
            _(
                "each link can be viewed once, until %(until)s, and its recipient may "
                "delete it when done"
            )
            if deletable
            else _("each link can be viewed once, until %(until)s")
        )
    elif deletable:
        message = ngettext(
            "each link can be viewed %(count)s time, until %(until)s, and its recipient may "
            "delete it when done",
            "each link can be viewed %(count)s times, until %(until)s, and its recipient may "
            "delete it when done",
            count,
        )
    else:
        message = ngettext(
            "each link can be viewed %(count)s time, until %(until)s",
            "each link can be viewed %(count)s times, until %(until)s",
            count,
        )
    return message % {"count": count, "until": until}


def _receipt_line(receipt_link: Link) -> str:
    return _("receipt (keep it private): %(link)s") % {"link": receipt_link}


def _print_sent_to_several(sent: Sent, as_json: bool) -> None:
    """``send --to``: each recipient's ``NAME: LINK`` on stdout, one line each, in
    the order given; the receipt of them all on stderr (all on stdout with --json)."""
    if as_json:
        print_json(
            {
                "recipients": [
                    {"name": to.name, "link": str(to.link), "max_views": to.max_views}
                    for to in sent.recipients
                ],
                "receipt": str(sent.receipt_link),
                "expires_at": sent.expires_at,
                "max_views": sent.max_views,
                "recipient_may_delete": sent.recipient_may_delete,
            }
        )
        return
    for to in sent.recipients:  # the links, for programs too: not translated
        print(f"{shown_name(to.name or f'recipient {to.recipient + 1}')}: {to.link}")
    until = moment(sent.expires_at)
    views = {to.max_views for to in sent.recipients}
    each = views.pop() if len(views) == 1 else None
    print(_each_viewable(each, until, sent.recipient_may_delete), file=sys.stderr)
    print(_receipt_line(sent.receipt_link), file=sys.stderr)


def take_link(args: argparse.Namespace) -> Link:
    """The link of ``open`` or ``delete`` (``args.link``), ``status`` or ``revoke``
    (``args.receipt_link``), of one of the command's ``args.link_kinds``, read before
    any network exchange."""
    kinds: Kinds = args.link_kinds
    argument = args.receipt_link if "r" in kinds else args.link
    if (
        getattr(args, "passphrase_file", None) is not None
        and link_from_stdin(argument, args.link_file)
        and not stdin_is_a_terminal()
        and _is_standard_input(args.passphrase_file)
    ):
        raise CliError(
            _(
                "the link and the passphrase cannot both come from standard input: "
                "give the link with --link-file, or the passphrase in a file"
            ),
            ExitCode.USAGE,
        )
    return read_link(argument, args.link_file, kinds)


def link_api(link: Link, args: argparse.Namespace, settings: ClientSettings) -> Api:
    """The api of the server ``link`` names, with the command's timeout and transport."""
    return Api(link.base, timeout=timeout_of(args, settings), insecure=args.insecure)


def with_passphrase(
    args: argparse.Namespace,
    exchange: Callable[[str | None], Coroutine[Any, Any, T]],
    before_asking: Callable[[], None] = lambda: None,
) -> T:
    """``exchange`` with the passphrase of the flags, for a share link's holder. On a
    terminal, a passphrase the server asks for is asked for and the exchange run
    again (asking spent nothing); a script gets exit 4 and the message."""
    passphrase = passphrase_from_flags(args, confirm=False)
    try:
        return run_exchange(exchange(passphrase))
    except ApiError as exc:
        if exc.kind != "passphrase-required" or passphrase is not None:
            raise
        if not stdin_is_a_terminal():
            raise
    before_asking()
    print(_("this secret needs a passphrase"), file=sys.stderr)
    return run_exchange(exchange(ask_passphrase(confirm=False)))


def cmd_open(args: argparse.Namespace, settings: ClientSettings) -> None:
    link: Link = args.taken_link
    folder = _check_output_dir(args.output_dir or ".", explicit=args.output_dir is not None)
    progress = ProgressLine()

    sink = FolderSink(folder)

    async def reveal(passphrase: str | None) -> Opened:
        async with link_api(link, args, settings) as api:
            if link.kind == "c":  # a request's answer, with the asker's collect link
                return await requests.collect(api, link, passphrase, sink, progress)
            return await contents.open_link(api, link, passphrase, sink, progress)

    try:
        opened = with_passphrase(args, reveal, before_asking=progress.clear)
    finally:
        progress.clear()
    if args.json:
        print_json(
            {
                "text": opened.text,
                "files": [
                    {"name": entry.name, "path": str(target), "bytes": entry.size}
                    for entry, target in zip(opened.files, sink.targets, strict=True)
                ],
                "views_left": opened.views_left,
                "recipient_may_delete": opened.recipient_may_delete,
            }
        )
        return
    if opened.text:
        sys.stdout.write(opened.text + "\n")  # see the module's docstring
        sys.stdout.flush()
    for target in sink.targets:
        print(_("wrote %(path)s") % {"path": target}, file=sys.stderr)
    left = opened.views_left
    if left == 0:
        print(_("that was the last view: the link will not open again"), file=sys.stderr)
        return
    if left == 1:
        print(_("1 view left: it can be viewed once more"), file=sys.stderr)
    else:
        more = ngettext(
            "%(count)s view left: it can be viewed %(count)s time more",
            "%(count)s views left: it can be viewed %(count)s times more",
            left,
        )
        print(more % {"count": left}, file=sys.stderr)
    if opened.recipient_may_delete:
        print(
            _(
                "its sender lets you delete it when you are done: `burnafter delete` "
                "with the same link"
            ),
            file=sys.stderr,
        )


def cmd_delete(args: argparse.Namespace, settings: ClientSettings) -> None:
    """The recipient's delete: the link and passphrase as ``open`` takes them, and
    no view spent."""
    link: Link = args.taken_link

    async def delete(passphrase: str | None) -> None:
        async with link_api(link, args, settings) as api:
            await api_client.delete(api, link, passphrase)

    with_passphrase(args, delete)
    if args.json:
        print_json({"deleted": True})
    else:
        print(
            _("deleted: the secret is destroyed, and nobody can open its link any more"),
            file=sys.stderr,
        )


# A receipt in words: the state, the views, the passphrase, and what happened.

_STATE_WORDS = {
    # Translators: a secret's state, in `burnafter status`.
    "active": N_("active"),
    # Translators: a secret's state, in `burnafter status`.
    "viewed": N_("viewed"),
    # Translators: a secret's state, in `burnafter status`.
    "expired": N_("expired"),
    # Translators: a secret's state, in `burnafter status`.
    "revoked": N_("revoked by its sender"),
    # Translators: a secret's state, in `burnafter status`.
    "locked": N_("destroyed after too many wrong passphrases"),
    # Translators: a secret's state, in `burnafter status`.
    "deleted": N_("deleted by its recipient"),
}
_EVENT_WORDS = {
    # Translators: what happened to a secret, in `burnafter status`.
    "created": N_("created"),
    # Translators: what happened to a secret, in `burnafter status`.
    "viewed": N_("viewed"),
    # Translators: what happened to a secret, in `burnafter status`.
    "unlock_failed": N_("wrong passphrase"),
    # Translators: what happened to a secret, in `burnafter status`.
    "locked": N_("destroyed after too many wrong passphrases"),
    # Translators: what happened to a secret, in `burnafter status`.
    "revoked": N_("revoked"),
    # Translators: what happened to a secret, in `burnafter status`.
    "expired": N_("expired"),
    # Translators: what happened to a secret, in `burnafter status`.
    "deleted": N_("deleted"),
}


def _word(words: dict[str, str], value: str) -> str:
    """A state's or an event's words, translated; a value we have no words for, as is."""
    return _(words[value]) if value in words else value


def _line(label: str, value: str) -> str:
    """``state:     active``: a label and its value, the values one under another."""
    return f"{padded(label, 10)} {value}"


def _listed(phrases: Sequence[str]) -> str:
    # Translators: between the phrases of a list: "viewed once, 2 views left".
    return _(", ").join(phrases)


def _recipients_shown(receipt: dict[str, Any]) -> dict[int, str]:
    """Each recipient's name as ``status`` prints it, by number, for a share sent to
    several (or named) recipients; none for a share of one unnamed link."""
    recipients = receipt.get("recipients") or []
    if len(recipients) < 2 and not any(r.get("name") for r in recipients):
        return {}
    return {
        int(r["recipient"]): shown_name(r["name"])
        if r.get("name")
        else _("recipient %(number)s") % {"number": place + 1}
        for place, r in enumerate(recipients)
    }


def describe_recipients(receipt: dict[str, Any], names: dict[int, str]) -> list[str]:
    """One line per recipient: name, state, views of max views, wrong passphrases,
    and when its link ended."""
    recipients = receipt.get("recipients") or []
    states = [_word(_STATE_WORDS, r["state"]) for r in recipients]
    name_width = max(columns(name) for name in names.values())
    state_width = max(columns(state) for state in states)
    # Translators: the heading of the recipients' lines in `burnafter status`.
    lines = [_("recipients:")]
    for recipient, state in zip(recipients, states, strict=True):
        name = names[int(recipient["recipient"])]
        line = f"  {padded(name, name_width)}  {padded(state, state_width)}  "
        # Translators: a recipient's views of its most: "views 1/2".
        views = [_("views %(views)s/%(most)s") % {
            "views": recipient["views"], "most": recipient["max_views"]}]  # fmt: skip
        if recipient.get("failed_attempts"):
            views.append(wrong_passphrases(recipient["failed_attempts"]))
        line += _listed(views)
        if recipient.get("ended_at"):
            # Translators: when a recipient's link ended (a timestamp).
            line += "  " + _("ended %(when)s") % {"when": recipient["ended_at"]}
        lines.append(line)
    return lines


def _views_value(views: int, max_views: int, active: bool) -> str:
    if views == 0:
        # Translators: a secret's views, in `burnafter status`.
        viewed = _("not viewed")
    elif views == 1:
        viewed = _("viewed once")
    else:
        viewed = ngettext("viewed %(count)s time", "viewed %(count)s times", views) % {
            "count": views
        }
    return _listed([viewed, views_left(max_views - views)]) if active else viewed


def _passphrase_value(receipt: dict[str, Any], attempts_shown: bool) -> str:
    failed, max_attempts = receipt["failed_attempts"], receipt["max_attempts"]
    said = [_("no wrong passphrase") if failed == 0 else wrong_passphrases(failed)]
    if attempts_shown:
        said.append(attempts_left(max_attempts - failed))
    # Translators: the passphrase line of `burnafter status`: "required; 1 wrong
    # passphrase, 4 attempts left".
    return _("required; %(attempts)s") % {"attempts": _listed(said)}


def _delivery(state: str, attempts: int) -> str:
    """A webhook notification's state: ``delivered after 1 attempt(s)``."""
    values = {"count": attempts, "state": state}
    if state == "delivered":
        message = ngettext(
            "delivered after %(count)s attempt(s)", "delivered after %(count)s attempt(s)", attempts
        )
    elif state == "failed":
        message = ngettext(
            "failed after %(count)s attempt(s)", "failed after %(count)s attempt(s)", attempts
        )
    elif state == "pending":
        message = ngettext(
            "pending after %(count)s attempt(s)", "pending after %(count)s attempt(s)", attempts
        )
    else:
        # Translators: %(state)s is a notification's state as the server names it.
        message = ngettext(
            "%(state)s after %(count)s attempt(s)", "%(state)s after %(count)s attempt(s)", attempts
        )
    return message % values


def _notifications(receipt: dict[str, Any]) -> list[str]:
    """The webhook notifications of a receipt (endpoints and events are names)."""
    if not receipt.get("notify"):
        return []
    endpoints = _listed(receipt["notify"])
    lines = [_("notifications (to %(endpoints)s):") % {"endpoints": endpoints}]
    lines += [
        f"  {sent['occurred_at']}  {sent['event']:<15} {sent['endpoint']}: "
        + _delivery(sent["state"], sent["attempts"])
        for sent in receipt["notifications"]
    ]
    return lines


def describe_receipt(receipt: dict[str, Any]) -> list[str]:
    state, views, max_views = receipt["state"], receipt["views"], receipt["max_views"]
    names = _recipients_shown(receipt)
    several = len(receipt.get("recipients") or ()) > 1
    active = state == "active"
    lines = [
        # Translators: the labels of `burnafter status`, each followed by its value; the
        # values start after 10 characters, a longer label pushes its value right.
        _line(_("state:"), _word(_STATE_WORDS, state)),
        *([_line(_("label:"), receipt["label"])] if receipt.get("label") else []),
        _line(_("views:"), _views_value(views, max_views, active)),
        _line(_("created:"), receipt["created_at"]),
        _line(_("expires:"), receipt["expires_at"]),
        *([_line(_("ended:"), receipt["ended_at"])] if receipt.get("ended_at") else []),
        *(
            [_line(_("recipient:"), _("may delete it when done"))]
            if receipt.get("recipient_may_delete")
            else []
        ),
    ]
    if receipt["passphrase"]:
        # Attempts are counted per link: what is left is only one link's to say.
        value = _passphrase_value(receipt, attempts_shown=active and not several)
        lines.append(_line(_("passphrase:"), value))
    if names:
        lines += describe_recipients(receipt, names)
    name_width = max((columns(name) for name in names.values()), default=0)
    lines.append(_("events:"))
    for event in receipt["events"]:
        who = " ".join(filter(None, [event["client_address"], event["user_agent"]]))
        what = _word(_EVENT_WORDS, event["event"])
        if names:  # which recipient's link it happened to (the share's own events: none)
            whose = names.get(event.get("recipient", -1), "")
            who = f"{padded(whose, name_width)}  {who}"
        lines.append(f"  {event['at']}  {padded(what, 16)} {who}".rstrip())
    return lines + _notifications(receipt)


_REQUEST_WORDS = {
    # Translators: a request's state, in `burnafter status`.
    "open": N_("open: not answered yet"),
    # Translators: a request's state, in `burnafter status`.
    "answered": N_("answered"),
    # Translators: a request's state, in `burnafter status`.
    "expired": N_("expired unanswered"),
}


def _when_or_not_yet(when: str | None, note: str | None = None) -> str:
    """A timestamp, or "not yet"; with ``note`` (a translated message of ``%(when)s``)."""
    # Translators: a request not opened, or not answered, yet.
    shown = when or _("not yet")
    return note % {"when": shown} if note else shown


def describe_request(life: dict[str, Any]) -> list[str]:
    """A request's life, from its collect link: asked, opened by the responder,
    answered, and the answer's receipt (its views and events) once answered."""
    asked, receipt = life["request"], life["answer"]
    files = (
        _("allowed, up to %(most)s in all")
        % {"most": sizes.format_size(asked["max_content_bytes"], down=True)}
        if asked["files_allowed"]
        else _("not allowed")
    )
    opened = _("%(when)s (the responder read the request)") if asked["opened_at"] else None
    arriving = _("%(when)s (its upload is still arriving)") if asked.get("uploading") else None
    lines = [
        _line(_("request:"), _word(_REQUEST_WORDS, asked["state"])),
        _line(_("asked:"), asked["created_at"]),
        _line(_("expires:"), asked["expires_at"]),
        _line(_("files:"), files),
        _line(_("opened:"), _when_or_not_yet(asked["opened_at"], opened)),
        _line(_("answered:"), _when_or_not_yet(asked["answered_at"], arriving)),
    ]
    if receipt is not None:
        lines.append(_("answer:"))
        lines += [f"  {line}" for line in describe_receipt(receipt)]
    return lines


def cmd_status(args: argparse.Namespace, settings: ClientSettings) -> None:
    link: Link = args.taken_link

    async def status() -> dict[str, Any]:
        async with link_api(link, args, settings) as api:
            if link.kind == "c":
                return await requests.read_life(api, link)
            return await api_client.read_status(api, link)

    found = run_exchange(status())
    if args.json:
        print_json(found)
    else:
        print("\n".join(describe_request(found) if link.kind == "c" else describe_receipt(found)))


def cmd_revoke(args: argparse.Namespace, settings: ClientSettings) -> None:
    link: Link = args.taken_link
    name: str | None = args.to

    async def revoke() -> int | None:
        async with link_api(link, args, settings) as api:
            if name is None:
                await api_client.revoke(api, link)
                return None
            # The names are sealed: found here, in the receipt opened with its key.
            number = api_client.recipient_named(await api_client.read_status(api, link), name)
            try:
                await api_client.revoke(api, link, number)
            except ApiError as exc:
                if exc.kind != "secret-already-ended":
                    raise
                state = str(exc.problem.get("state", ""))
                message = _RECIPIENT_ENDED.get(state, _RECIPIENT_ENDED[""])
                raise CliError(_(message), ExitCode.GONE) from None
            return number

    number = run_exchange(revoke())
    if args.json:
        print_json({"revoked": True, **({} if number is None else {"recipient": number})})
    elif number is None:
        print(_("revoked: the secret is destroyed, and its link will not open"), file=sys.stderr)
    else:
        print(
            _("revoked: that recipient's link will not open; the other links are as they were"),
            file=sys.stderr,
        )


# The arguments.

LINK_SAFETY = N_(
    "The link holds its key after '#'. Rather than as an argument, give it on "
    "standard input (omit it, or give -: the first line is read; on a terminal you "
    "are asked for it and it is not shown) or with --link-file: other local users can "
    "read a command line in /proc/PID/cmdline, and your shell keeps it in its history."
)


def with_link_safety(description: str) -> str:
    """A command's description (translated), and what it should know of its link."""
    return description + " " + _(LINK_SAFETY)


# Paragraphs, shown one after another (--help keeps their lines as written).
_SEND_HELP = (
    N_("""\
Encrypt a secret here and store only its ciphertext on the server. The share link
goes to standard output, the receipt link (to see or revoke the secret; keep it
private) to standard error."""),
    N_("""\
The secret is standard input, or, on a terminal, one line you are asked for (it is
not shown). One newline at the end of standard input is not part of the secret:
`echo hunter2 | burnafter send` sends "hunter2", and `burnafter open` prints it back
with its newline. Send several lines from a pipe or a file, binary data with --file."""),
    N_("""\
With --to NAME (repeatable, or several names after one --to), the secret is sealed
once and each recipient gets a link of their own: one line `NAME: LINK` each on
standard output, and one receipt for them all. --views and the passphrase apply to
each link. The names are sealed for the receipt: the server never reads them."""),
)


def paragraphs(texts: Sequence[str]) -> str:
    """Paragraphs of a --help, translated, one blank line between them."""
    return "\n\n".join(_(text) for text in texts)


# Translators: examples of --help: translate the heading and the comments after #; keep
# the commands as they are.
_SEND_EXAMPLES = N_("""\
examples:
  burnafter send                                  # asks for the secret, not shown
  echo 'hunter2' | burnafter send --views 2 --expires 1h
  burnafter send --passphrase < notes.txt         # asks for a passphrase, twice
  burnafter send --file id_ed25519 --label 'deploy key for Ana'
  pass show db/prod | burnafter send --server https://burnafter.example.com --json
  burnafter send --to ana --to bob --views 2 < notes.txt   # one link each""")

# Translators: examples of --help: translate the heading and the comments after #; keep
# the commands as they are.
_OPEN_EXAMPLES = N_("""\
examples:
  burnafter open                                  # asks for the link, not shown
  burnafter open --link-file link.txt --output-dir ~/Downloads
  burnafter open --link-file collect.txt          # the answer to your request
  burnafter open --passphrase < link.txt          # asks for the passphrase
  burnafter open --passphrase-file pass.txt < link.txt > secret.txt""")

# Translators: examples of --help: translate the heading and the comments after #; keep
# the commands as they are.
_DELETE_EXAMPLES = N_("""\
examples:
  burnafter delete                                # asks for the share link, not shown
  burnafter delete --link-file link.txt --json
  burnafter delete --passphrase < link.txt        # asks for the passphrase""")

# Translators: examples of --help: translate the heading and the comments after #; keep
# the commands as they are.
_STATUS_EXAMPLES = N_("""\
examples:
  burnafter status                                # asks for the receipt link
  burnafter status --link-file receipt.txt
  burnafter status --json < receipt.txt | jq .state
  burnafter status --link-file collect.txt        # your request: asked, opened, answered""")

# Translators: examples of --help: translate the heading and the comments after #; keep
# the commands as they are.
_REVOKE_EXAMPLES = N_("""\
examples:
  burnafter revoke                                # asks for the receipt link
  burnafter revoke --link-file receipt.txt
  burnafter revoke --to bob < receipt.txt         # bob's link only""")


def add_link_arguments(parser: argparse.ArgumentParser, dest: str, kinds: Kinds) -> None:
    words = _LINK_WORDS[kinds]
    parser.add_argument(dest, nargs="?", metavar=dest.upper(), help=_(words.argument))
    parser.add_argument("--link-file", metavar="PATH", help=_(words.link_file))


def add_common_flags(parser: argparse.ArgumentParser, json_help: str) -> None:
    """``--json`` (its help, translated, is the command's), ``--timeout`` and
    ``--insecure``."""
    parser.add_argument("--json", action="store_true", help=json_help)
    parser.add_argument(
        "--timeout",
        type=parse_timeout,
        metavar="SECONDS",
        help=_("give up when the server is silent this long (default $BURNAFTER_TIMEOUT, or 30)"),
    )
    parser.add_argument(
        "--insecure", action="store_true", help=_("allow plain http to a non-loopback server")
    )


def add_sender_flags(parser: argparse.ArgumentParser, notify_help: str) -> None:
    """``--server`` and ``--notify`` (its help, translated, is the command's), for the
    commands that make something on a server (``send``, ``request``)."""
    parser.add_argument(
        "--server",
        type=parse_server,
        help=_("server URL (default $BURNAFTER_SERVER, or http://127.0.0.1:8080)"),
    )
    parser.add_argument("--notify", action="append", default=[], metavar="NAME", help=notify_help)


def add_passphrase_flags(parser: argparse.ArgumentParser, sender: bool) -> None:
    choice = parser.add_mutually_exclusive_group()
    choice.add_argument(
        "--passphrase",
        dest="ask_passphrase",
        action="store_true",
        help=_("ask for the passphrase on the terminal, without echo (twice)")
        if sender
        else _("ask for the passphrase on the terminal, without echo"),
    )
    choice.add_argument(
        "--passphrase-file",
        metavar="F",
        help=(
            _("require a passphrase: the first line of file F")
            if sender
            else _(
                "the passphrase: the first line of file F (not standard input when the link "
                "comes from it)"
            )
        ),
    )


def _add_send_command(commands: argparse._SubParsersAction[Any]) -> None:
    send = commands.add_parser(
        "send",
        help=_("encrypt a secret (and files) into a link"),
        description=paragraphs(_SEND_HELP),
        epilog=_(_SEND_EXAMPLES),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    send.add_argument(
        "--views", type=parse_views, help=_("how many times the link can be viewed (default 1)")
    )
    send.add_argument(
        "--expires", type=parse_duration, help=_("lifetime such as 30m, 1h, 7d (server default)")
    )
    add_passphrase_flags(send, sender=True)
    send.add_argument(
        "--file", metavar="PATH", action="append", default=[], help=_("attach a file (repeatable)")
    )
    send.add_argument("--label", help=_("a private note for you, shown on the receipt"))
    add_sender_flags(
        send, _("tell this webhook endpoint (configured by the operator) when it is viewed")
    )
    send.add_argument(
        "--recipient-may-delete",
        action="store_true",
        help=_("let the recipient delete it when done, before its views are spent"),
    )
    send.add_argument(
        "--to",
        metavar="NAME",
        nargs="+",
        action="extend",
        default=[],
        type=parse_recipient_name,
        help=_("a link for each recipient NAME (repeatable; at most 256 bytes, private to you)"),
    )
    add_common_flags(send, _("print link and receipt as JSON; errors too, on stderr"))
    send.set_defaults(client_command=cmd_send)


def add_client_commands(commands: argparse._SubParsersAction[Any]) -> None:
    """The client commands. Their defaults that come from ``BURNAFTER_*`` variables
    are read when a command runs, never here: ``--help`` works whatever they hold."""
    raw = argparse.RawDescriptionHelpFormatter
    _add_send_command(commands)

    open_ = commands.add_parser(
        "open",
        help=_("open a share link, or a request's answer with its collect link (spends one view)"),
        description=with_link_safety(
            _(
                "Open a share link: spends one view. Prints the text, and one newline after "
                "it, on standard output; writes files into --output-dir. A request's collect "
                "link (burnafter request) opens its answer the same way; before the answer, "
                "it says so and exits with 9."
            )
        ),
        epilog=_(_OPEN_EXAMPLES),
        formatter_class=raw,
    )
    add_link_arguments(open_, "link", ("s", "c"))
    add_passphrase_flags(open_, sender=False)
    open_.add_argument(
        "--output-dir", metavar="DIR", help=_("where files are written (default: here)")
    )
    add_common_flags(open_, _("print the text, the files written and the views left as JSON"))
    open_.set_defaults(client_command=cmd_open, link_kinds=("s", "c"))

    delete = commands.add_parser(
        "delete",
        help=_("delete a secret you received, if its sender allowed it (spends no view)"),
        description=with_link_safety(
            _(
                "Delete a secret you received through its share link, when you are done with "
                "it, if its sender allowed that (send --recipient-may-delete). Spends no view. "
                "A secret with a passphrase needs it, and a wrong one spends an attempt, as "
                "with open."
            )
        ),
        epilog=_(_DELETE_EXAMPLES),
        formatter_class=raw,
    )
    add_link_arguments(delete, "link", ("s",))
    add_passphrase_flags(delete, sender=False)
    add_common_flags(delete, _('print {"deleted": true}; errors as JSON, on stderr'))
    delete.set_defaults(client_command=cmd_delete, link_kinds=("s",))

    status = commands.add_parser(
        "status",
        help=_("show a receipt (state and access events), or a request's life"),
        description=with_link_safety(
            _(
                "Show a receipt: state, views, expiry and access events; for a secret sent to "
                "several recipients, each one's name, state and views. With a request's "
                "collect link: when it was asked, opened by the responder and answered, and "
                "then the answer's views and events."
            )
        ),
        epilog=_(_STATUS_EXAMPLES),
        formatter_class=raw,
    )
    add_link_arguments(status, "receipt_link", ("r", "c"))
    add_common_flags(status, _("print the receipt as JSON; errors too, on stderr"))
    status.set_defaults(client_command=cmd_status, link_kinds=("r", "c"))

    revoke = commands.add_parser(
        "revoke",
        help=_("destroy a secret through its receipt link"),
        description=with_link_safety(
            _(
                "Destroy a secret now, through its receipt link: every link of it, or with "
                "--to NAME one recipient's."
            )
        ),
        epilog=_(_REVOKE_EXAMPLES),
        formatter_class=raw,
    )
    add_link_arguments(revoke, "receipt_link", ("r",))
    revoke.add_argument(
        "--to",
        metavar="NAME",
        type=parse_recipient_name,
        help=_("revoke only the link of this recipient (send --to NAME); the others still open"),
    )
    add_common_flags(revoke, _('print {"revoked": true}; errors as JSON, on stderr'))
    revoke.set_defaults(client_command=cmd_revoke, link_kinds=("r",))


# Errors: one line (or one JSON object) and an exit code.

_API_EXIT = {
    "secret-not-found": ExitCode.GONE,
    "receipt-not-found": ExitCode.GONE,
    "secret-already-ended": ExitCode.GONE,
    "passphrase-required": ExitCode.PASSPHRASE,
    "wrong-passphrase": ExitCode.PASSPHRASE,
    "delete-not-allowed": ExitCode.NOT_ALLOWED,
    "request-not-found": ExitCode.GONE,
    "request-expired": ExitCode.GONE,
    "request-answered": ExitCode.ANSWERED,
}
# A secret that ended before what was asked of it, by its state ("": another state).
_ALREADY_ENDED = {
    "viewed": N_("the secret was already viewed: no views are left"),
    "expired": N_("the secret was already expired"),
    "revoked": N_("the secret was already revoked"),
    "locked": N_("the secret was already destroyed after too many wrong passphrases"),
    "deleted": N_("the secret was already deleted by its recipient"),
    "": N_("the secret was already ended"),
}
# One recipient's link that ended before ``revoke --to`` (its state; "": another).
_RECIPIENT_ENDED = {
    "viewed": N_("that recipient's link was already viewed: no views are left"),
    "expired": N_("that recipient's link was already expired"),
    "revoked": N_("that recipient's link was already revoked"),
    "locked": N_("that recipient's link was already destroyed after too many wrong passphrases"),
    "deleted": N_("that recipient's link was already deleted by its recipient"),
    "": N_("that recipient's link was already ended"),
}


# What to say of a refusal that says it all by its kind.
_API_WORDS = {
    "secret-not-found": N_(
        "this secret is gone: it was viewed, revoked, deleted, destroyed after too many wrong "
        "passphrases, or it expired (or the link was never valid)"
    ),
    "receipt-not-found": N_(
        "no receipt matches this link: it is wrong, or its secret ended long ago"
    ),
    "passphrase-required": N_(
        "this secret needs a passphrase: give --passphrase (you are asked for it) or "
        "--passphrase-file F"
    ),
    "delete-not-allowed": N_(
        "the sender did not allow the recipient to delete this secret: it lasts until its "
        "views are spent or it expires, unless its sender revokes it"
    ),
    "upload-not-found": N_(
        "the upload ended before it was complete (its time ran out, or the server dropped "
        "it): nothing was shared; send it again"
    ),
    "download-not-found": N_(
        "the download ended before the whole secret came (its time ran out): the view is "
        "spent, and nothing was written"
    ),
    "request-not-found": N_(
        "no request matches this link: it is wrong, or the request ended long ago"
    ),
    "request-answered": N_(
        "this request was answered already: it takes one answer, and only the person who "
        "asked can open it"
    ),
    "request-expired": N_(
        "this request expired unanswered: ask the person who asked for a new fill link"
    ),
}


def _already_ended(exc: ApiError) -> str:
    state = str(exc.problem.get("state", ""))
    if state in _ALREADY_ENDED:
        return _(_ALREADY_ENDED[state])
    # Translators: %(state)s is the secret's state as the server names it.
    return _("the secret was already %(state)s") % {"state": state}


def _wrong_passphrase(exc: ApiError) -> str:
    left = exc.problem.get("attempts_left")
    if left == 0:
        return _("wrong passphrase: that was the last attempt, and the secret is destroyed")
    if not isinstance(left, int):
        return _("wrong passphrase; try again")
    return ngettext(
        "wrong passphrase; %(count)s attempt left",
        "wrong passphrase; %(count)s attempts left",
        left,
    ) % {"count": left}


def explain(exc: ApiError) -> str:
    if exc.kind in _API_WORDS:
        return _(_API_WORDS[exc.kind])
    if exc.kind == "secret-already-ended":
        return _already_ended(exc)
    if exc.kind == "content-too-large":
        most = exc.problem.get("max_content_bytes")
        if not isinstance(most, int):
            return _("too large: this server takes less in all (text and files)")
        return _("too large: this server takes at most %(most)s in all (text and files)") % {
            "most": sizes.format_size(most, down=True)
        }
    if exc.kind == "wrong-passphrase":
        return _wrong_passphrase(exc)
    if not exc.kind:
        return _(
            "the server answered HTTP %(status)s, and not as burnafter does: is it a "
            "burnafter server?"
        ) % {"status": exc.status}
    return str(exc)  # the server's own words


def describe_error(exc: BaseException) -> tuple[str, ExitCode]:
    """What to say about ``exc``, and the exit code; or re-raise what is a bug."""
    if isinstance(exc, ApiError):
        return explain(exc), _API_EXIT.get(exc.kind, ExitCode.ERROR)
    if isinstance(exc, MalformedLink):
        return str(exc), ExitCode.MALFORMED_LINK
    if isinstance(exc, NoAnswer):
        return f"{exc} (BURNAFTER_TIMEOUT / --timeout)", ExitCode.UNREACHABLE
    if isinstance(exc, ServerUnreachable):
        return str(exc), ExitCode.UNREACHABLE
    if isinstance(exc, InsecureServer):
        return str(exc), ExitCode.USAGE
    if isinstance(exc, CliError):
        return str(exc), exc.code
    if isinstance(exc, requests.Unanswered):
        not_yet = exc.state in ("open", "uploading")
        return str(exc), ExitCode.NOT_ANSWERED if not_yet else ExitCode.GONE
    if isinstance(exc, ClientError | EnvelopeError):
        return str(exc), ExitCode.ERROR
    raise exc


def report_error(message: str, code: int, as_json: bool) -> int:
    if as_json:
        print(json.dumps({"error": message, "code": int(code)}), file=sys.stderr)
    else:
        print(f"burnafter: {message}", file=sys.stderr)
    return int(code)


def _quiet_stdout() -> None:
    """After a broken pipe: nothing more reaches standard output, not even the flush
    at exit (which would print a traceback)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def run_client_command(args: argparse.Namespace, settings: ClientSettings) -> int:
    command: Callable[[argparse.Namespace, ClientSettings], None] = args.client_command
    as_json = bool(getattr(args, "json", False))
    try:
        if getattr(args, "link_kinds", None) is not None:
            args.taken_link = take_link(args)
        command(args, settings)
    except KeyboardInterrupt:
        end_prompt_line()
        return report_error(_("interrupted"), ExitCode.INTERRUPTED, as_json)
    except BrokenPipeError:
        _quiet_stdout()
        return report_error(_("standard output was closed early"), ExitCode.ERROR, as_json)
    except (ClientError, MalformedLink, CliError, EnvelopeError) as exc:
        message, code = describe_error(exc)
        return report_error(message, code, as_json)
    return ExitCode.OK
