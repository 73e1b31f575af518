"""The request commands of ``burnafter``: ``request`` asks someone for a secret, and
``answer`` answers a request through its fill link (docs/protocol.md, "Requests").
The asker collects the answer with ``open`` and follows the request with ``status``,
both given the collect link (services/cli/client_commands.py).

The fill link goes to the responder: it opens the asker's note and lets its holder
answer once, and never opens the answer. The collect link stays with the asker: it
opens the answer, and says how the request stands."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

from services.cli.client_commands import (
    CliError,
    ExitCode,
    TextWords,
    add_common_flags,
    add_link_arguments,
    add_passphrase_flags,
    add_sender_flags,
    check_fits,
    link_api,
    link_from_stdin,
    moment,
    paragraphs,
    parse_duration,
    parse_views,
    passphrase_from_flags,
    print_json,
    read_files,
    read_link,
    read_secret_text,
    run_exchange,
    shown_name,
    stdin_is_a_terminal,
    strip_final_newline,
    timeout_of,
)
from services.cli.terminal import ProgressLine
from services.client import requests, sizes
from services.client.api_client import Api, check_transport
from services.client.requests import Answered, Asked, AskedFor
from services.client.settings import ClientSettings
from services.client.translated import N_, _, ngettext
from services.protocol.request import NOTE_BYTES

_SIZE = re.compile(r"^(\d+(?:\.\d+)?)\s*([kmg]i?b?|b(?:ytes?)?)?$", re.IGNORECASE)
_UNIT_BYTES = {"": 1, "b": 1, "k": sizes.KiB, "m": sizes.MiB, "g": 1024 * sizes.MiB}


def parse_size(text: str) -> int:
    """``5000``, ``500KB``, ``10MB``, ``1GB`` (KB as the pages count it: 1024 bytes) →
    bytes, at least 1."""
    match = _SIZE.match(text.strip())
    unit = (match.group(2) or "")[:1].lower() if match else ""
    size = int(float(match.group(1)) * _UNIT_BYTES[unit]) if match else 0
    if size < 1:
        raise argparse.ArgumentTypeError(
            _("%(value)r is not a size such as 500KB, 10MB or 1GB") % {"value": text}
        )
    return size


# Asking.


def read_note(args: argparse.Namespace) -> str:
    """The note of ``--note`` or ``--note-file`` (less one final newline), refused
    here when the server could not take it: over ``NOTE_BYTES`` of UTF-8, or a NUL."""
    flag = "--note"
    note: str = args.note or ""
    if args.note_file is not None:
        flag = f"--note-file {args.note_file}"
        try:
            note = strip_final_newline(Path(args.note_file).read_text("utf-8"))
        except OSError as exc:
            raise CliError(f"{flag}: {exc.strerror}") from None
        except UnicodeDecodeError:
            # Translators: %(flag)s is "--note-file PATH".
            raise CliError(_("%(flag)s: not UTF-8 text") % {"flag": flag}) from None
    size = len(note.encode("utf-8", "surrogatepass"))
    if size > NOTE_BYTES:
        message = ngettext(
            "%(flag)s: the note is %(size)s byte; a note is at most %(most)s bytes of UTF-8 "
            "text. Nothing was asked",
            "%(flag)s: the note is %(size)s bytes; a note is at most %(most)s bytes of UTF-8 "
            "text. Nothing was asked",
            size,
        )
        raise CliError(message % {"flag": flag, "size": size, "most": NOTE_BYTES}, ExitCode.USAGE)
    if "\0" in note:
        raise CliError(
            _("%(flag)s: a note is text, without NUL. Nothing was asked") % {"flag": flag},
            ExitCode.USAGE,
        )
    return note


def cmd_request(args: argparse.Namespace, settings: ClientSettings) -> None:
    server: str = args.server or settings.server
    check_transport(server, args.insecure)  # before asking anything
    if args.max_size is not None and not args.files:
        raise CliError(
            _("--max-size caps the files of the answer: give --files too"), ExitCode.USAGE
        )
    note = read_note(args)
    passphrase = passphrase_from_flags(args, confirm=True)

    async def ask() -> Asked:
        async with Api(
            server, timeout=timeout_of(args, settings), insecure=args.insecure,
            api_token=settings.api_token,
        ) as api:  # fmt: skip
            most = int((await api.limits())["max_content_bytes"])
            if args.max_size is not None and args.max_size > most:
                raise CliError(
                    _("--max-size: this server takes at most %(most)s in all. Nothing was asked")
                    % {"most": sizes.format_size(most, down=True)},
                    ExitCode.USAGE,
                )
            return await requests.ask(
                api,
                note,
                files_allowed=args.files,
                max_content_bytes=most if args.max_size is None else args.max_size,
                max_views=args.views,
                passphrase=passphrase,
                expires_in=args.expires,
                notify=tuple(args.notify),
            )

    asked = run_exchange(ask())
    if args.json:
        print_json(
            {
                "id": asked.id,
                "fill_link": str(asked.fill_link),
                "collect_link": str(asked.collect_link),
                "expires_at": asked.expires_at,
            }
        )
        return
    print(asked.fill_link)
    print(
        _(
            "send the fill link above to the person you ask: it can be answered once, until "
            "%(until)s, and never opens the answer"
        )
        % {"until": moment(asked.expires_at)},
        file=sys.stderr,
    )
    print(
        _("collect link (keep it private; it opens the answer): %(link)s")
        % {"link": asked.collect_link},
        file=sys.stderr,
    )


# Answering.

_ANSWER_WORDS = TextWords(
    # Translators: a prompt on the terminal; what is typed is not shown.
    N_("answer (not shown): "),
    N_("nothing to send: no answer given"),
    N_(
        "nothing was sent: the prompt takes one line; send several lines from a pipe or a "
        "file (burnafter answer < FILE), or attach a file with --file"
    ),
)


def show_request(asked: AskedFor) -> None:
    """What the asker wrote, and allows, for the responder to read before answering."""
    if asked.note:
        print(_("the request says:"), file=sys.stderr)
        for line in shown_name(asked.note, keep="\n").splitlines():
            print(f"  {line}", file=sys.stderr)
    until = moment(asked.expires_at)
    if asked.files_allowed:
        allows = _("(files allowed, up to %(most)s in all; answer by %(until)s)") % {
            "most": sizes.format_size(asked.max_content_bytes, down=True),
            "until": until,
        }
    else:
        allows = _("(text only, no files; answer by %(until)s)") % {"until": until}
    print(allows, file=sys.stderr)


def cmd_answer(args: argparse.Namespace, settings: ClientSettings) -> None:
    if link_from_stdin(args.link, args.link_file) and not stdin_is_a_terminal():
        raise CliError(
            _(
                "the fill link and the answer cannot both come from standard input: give the "
                "link with --link-file"
            ),
            ExitCode.USAGE,
        )
    link = read_link(args.link, args.link_file, ("q",))
    files = read_files(args.file)

    async def look() -> AskedFor:
        async with link_api(link, args, settings) as api:
            return await requests.open_request(api, link)

    asked = run_exchange(look())
    show_request(asked)
    if files and not asked.files_allowed:
        raise CliError(
            _("this request takes no files: answer with text only. Nothing was sent"),
            ExitCode.NOT_ALLOWED,
        )
    check_fits("", files, asked.max_content_bytes, request=True)  # before asking the text
    text = read_secret_text(bool(files), _ANSWER_WORDS)
    if not text and not files:
        raise CliError(_("nothing to send: pipe the answer on standard input, or give --file"))
    check_fits(text, files, asked.max_content_bytes, request=True)
    progress = ProgressLine()

    async def send() -> Answered:
        async with link_api(link, args, settings) as api:
            return await requests.answer(
                api, link, text, files, segment_size=asked.segment_size, progress=progress
            )

    try:
        answered = run_exchange(send())
    finally:
        progress.clear()
    if args.json:
        print_json({"answered": True, "id": answered.id, "expires_at": answered.expires_at})
    else:
        print(_("Sent: only the person who asked can open it."), file=sys.stderr)


# The arguments.

_REQUEST_HELP = (
    N_("""\
Ask someone for a secret. Prints the fill link, to send to the person you ask, on
standard output, and the collect link (keep it private) on standard error."""),
    N_("""\
Whoever holds the fill link reads your note and can answer once (`burnafter answer`,
or the web page); their client seals the answer to a key that only your collect
link holds, so neither the server nor the fill link can open it. Collect the answer
with `burnafter open` and the collect link; `burnafter status` with it says whether
the request was opened and answered."""),
)

# Translators: examples of --help: translate the heading and the comments after #; keep
# the commands as they are.
_REQUEST_EXAMPLES = N_("""\
examples:
  burnafter request --note 'the staging database password, please' > fill.txt
  burnafter request --note-file note.txt --files --max-size 10MB --expires 7d
  burnafter request --passphrase --views 2 --json      # asks for a passphrase, twice
  burnafter open --link-file collect.txt               # the answer, once it came
  burnafter status --link-file collect.txt             # asked, opened, answered""")

_ANSWER_HELP = (
    N_("""\
Answer a request through its fill link: shows the asker's note on standard error,
then seals the answer (standard input, or on a terminal one line you are asked for,
not shown; and files, where the request allows them) to the asker and sends it. Only
the person who asked can open it; a request takes one answer."""),
    N_("""\
Standard input carries the answer, so the fill link comes from --link-file (a file
only you can read), or on a terminal, omitted, you are asked for it (not shown). It
still works as an argument, but other local users can read a command line in
/proc/PID/cmdline, and your shell keeps it in its history."""),
)

# Translators: examples of --help: translate the heading and the comments after #; keep
# the commands as they are.
_ANSWER_EXAMPLES = N_("""\
examples:
  burnafter answer --link-file fill.txt              # asks for the link, then the answer
  pass show db/staging | burnafter answer --link-file fill.txt
  burnafter answer --link-file fill.txt --file id_ed25519 < /dev/null
  burnafter answer --link-file fill.txt --json < answer.txt""")


def _add_request_command(commands: argparse._SubParsersAction[Any]) -> None:
    ask = commands.add_parser(
        "request",
        help=_("ask someone for a secret: a fill link for them, a collect link for you"),
        description=paragraphs(_REQUEST_HELP),
        epilog=_(_REQUEST_EXAMPLES),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    note = ask.add_mutually_exclusive_group()
    note.add_argument(
        "--note",
        metavar="TEXT",
        help=_(
            "what you ask for, shown to the responder (at most %(most)s bytes; sealed: the "
            "server never reads it)"
        )
        % {"most": NOTE_BYTES},
    )
    note.add_argument("--note-file", metavar="F", help=_("the note: the content of file F"))
    ask.add_argument(
        "--expires",
        type=parse_duration,
        help=_("how long it may be answered: 30m, 1h, 7d (server default)"),
    )
    ask.add_argument("--files", action="store_true", help=_("let the answer hold files"))
    ask.add_argument(
        "--max-size",
        type=parse_size,
        metavar="SIZE",
        help=_(
            "with --files, the most the answer may hold, such as 10MB (default: the server's limit)"
        ),
    )
    ask.add_argument(
        "--views", type=parse_views, help=_("how many times the answer can be opened (default 1)")
    )
    add_passphrase_flags(ask, sender=True)
    add_sender_flags(
        ask, _("tell this webhook endpoint (configured by the operator) of the answer")
    )
    add_common_flags(ask, _("print the id, both links and the expiry as JSON; errors too"))
    ask.set_defaults(client_command=cmd_request)


def _add_answer_command(commands: argparse._SubParsersAction[Any]) -> None:
    answer = commands.add_parser(
        "answer",
        help=_("answer a request through its fill link (only the asker can open the answer)"),
        description=paragraphs(_ANSWER_HELP),
        epilog=_(_ANSWER_EXAMPLES),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    # Standard input carries the answer: the link comes from it only on a terminal.
    add_link_arguments(answer, "link", ("q",))
    answer.add_argument(
        "--file",
        metavar="PATH",
        action="append",
        default=[],
        help=_("attach a file (repeatable), where the request allows files"),
    )
    add_common_flags(answer, _('print {"answered": true, "id": …, "expires_at": …}; errors too'))
    answer.set_defaults(client_command=cmd_answer)


def add_request_commands(commands: argparse._SubParsersAction[Any]) -> None:
    """``request`` and ``answer``; the asker's ``open`` and ``status`` of a collect
    link are those of share and receipt links."""
    _add_request_command(commands)
    _add_answer_command(commands)
