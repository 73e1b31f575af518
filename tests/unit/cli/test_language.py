"""The language of the ``burnafter`` client commands: the terminal's, as GNU gettext
finds it, else English (issue 18)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import write_po

from services import i18n
from services.cli.client_commands import describe_receipt, moment, views_left
from services.cli.main import main
from services.cli.terminal import columns, padded
from services.client import sizes, translated
from services.client.translated import ENGLISH, speak, speech_for
from services.i18n import terminal_language

CHECKOUT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize(
    ("environ", "tag"),
    [
        # LANGUAGE: a list, most wanted first; unknown languages are passed over.
        ({"LANGUAGE": "fr:de", "LANG": "de_DE.UTF-8"}, "fr"),
        ({"LANGUAGE": "eo:de_AT:fr", "LANG": "fr_FR.UTF-8"}, "de"),
        ({"LANGUAGE": "eo::", "LANG": "fr_FR.UTF-8"}, "fr"),  # then the locale's own
        # The locale of messages: LC_ALL, else LC_MESSAGES, else LANG (set and not empty).
        ({"LC_ALL": "ja_JP.UTF-8", "LC_MESSAGES": "ko_KR.UTF-8", "LANG": "de_DE.UTF-8"}, "ja"),
        ({"LC_MESSAGES": "ko_KR.UTF-8", "LANG": "de_DE.UTF-8"}, "ko"),
        ({"LC_ALL": "", "LANG": "de_DE"}, "de"),
        ({"LC_ALL": "eo_XX.UTF-8", "LANG": "de_DE.UTF-8"}, "en"),  # LC_ALL wins, even unknown
        # C and POSIX (and none at all): English, whatever LANGUAGE says.
        ({"LC_ALL": "C", "LANGUAGE": "fr", "LANG": "de_DE.UTF-8"}, "en"),
        ({"LANG": "POSIX", "LANGUAGE": "fr"}, "en"),
        ({"LANG": "C.UTF-8", "LANGUAGE": "fr"}, "en"),
        ({"LANGUAGE": "fr"}, "en"),
        ({}, "en"),
        # Unknown, or not a locale name: English.
        ({"LANG": "eo_XX.UTF-8"}, "en"),
        ({"LANG": "!!"}, "en"),
        # The language we have under another name, or in another script or country.
        ({"LANG": "zh_TW.UTF-8@radical"}, "zh-Hant"),
        ({"LANG": "zh_HK.Big5"}, "zh-Hant"),
        ({"LANG": "zh_CN.GB18030"}, "zh-Hans"),
        ({"LANG": "pt_PT.UTF-8"}, "pt-BR"),
        ({"LANG": "pt_BR.UTF-8"}, "pt-BR"),
        ({"LANG": "nn_NO.UTF-8"}, "nb"),
        ({"LANG": "de_DE@euro"}, "de"),
        ({"LANG": "en_GB.UTF-8"}, "en"),
    ],
)
def test_the_terminal_language_is_found_as_gnu_gettext_finds_it(
    environ: dict[str, str], tag: str
) -> None:
    assert terminal_language(environ).tag == tag


@pytest.fixture
def catalogs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty folder of catalogs, for the tests' own; the terminal's language is
    found again after the test."""
    monkeypatch.setattr(i18n, "LOCALES_DIR", tmp_path)
    i18n.translations.cache_clear()
    try:
        yield tmp_path
    finally:
        i18n.translations.cache_clear()
        speak(None)


def _german(folder: Path) -> None:
    catalog = Catalog(locale="de", domain=i18n.DOMAIN)
    catalog.add("viewed once", "einmal angesehen")
    catalog.add(("%(count)s view left", "%(count)s views left"),
                ("%(count)s Ansicht übrig", "%(count)s Ansichten übrig"))  # fmt: skip
    catalog.add("that is not a receipt link", "das ist kein Beleg-Link")
    path = folder / "de" / "LC_MESSAGES" / f"{i18n.DOMAIN}.po"
    path.parent.mkdir(parents=True)
    with path.open("wb") as po:
        write_po(po, catalog)


def test_a_language_without_a_catalog_speaks_english(catalogs: Path) -> None:
    assert not any(catalogs.iterdir())
    assert speech_for({"LANG": "de_DE.UTF-8"}) is ENGLISH
    speak(speech_for({"LANG": "de_DE.UTF-8"}))
    assert [views_left(1), views_left(2)] == ["1 view left", "2 views left"]
    assert moment("2026-11-30T15:20:59Z") == "2026-11-30 15:20 UTC"
    assert sizes.format_size(9728) == "9.5 KB"


def test_english_and_c_never_load_the_languages() -> None:
    # services.i18n reads every language's CLDR data: a tenth of a second at each start.
    for env in ({}, {"LANG": "C.UTF-8"}, {"LANG": "en_US.UTF-8", "LANGUAGE": "en_GB:en"}):
        assert speech_for(env) is ENGLISH
    script = (
        "import sys; from services.cli.main import build_parser; "
        "build_parser().format_help(); print('services.i18n' in sys.modules)"
    )
    environ = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(CHECKOUT), "LANG": "C.UTF-8"}
    shown = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, env=environ
    )
    assert shown.stdout == "False\n", shown.stderr


def test_a_catalog_s_messages_and_the_language_s_numbers_and_moments(catalogs: Path) -> None:
    _german(catalogs)
    speak(speech_for({"LANG": "de_DE.UTF-8"}))
    assert [views_left(1), views_left(2)] == ["1 Ansicht übrig", "2 Ansichten übrig"]
    assert moment("2026-11-30T16:20:00+01:00") == "30.11.2026, 15:20 UTC"
    assert sizes.format_size(9728) == "9,5 KB"
    lines = describe_receipt(
        {"state": "active", "views": 0, "max_views": 2, "passphrase": False,
         "created_at": "c", "expires_at": "e", "events": []}
    )  # fmt: skip
    assert "views:     not viewed, 2 Ansichten übrig" in lines  # not viewed: English yet
    lines = describe_receipt(
        {"state": "viewed", "views": 1, "max_views": 1, "passphrase": False,
         "created_at": "c", "expires_at": "e", "events": []}
    )  # fmt: skip
    assert "views:     einmal angesehen" in lines


def test_with_json_the_command_speaks_english(
    catalogs: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _german(catalogs)
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", "de_DE.UTF-8")
    for argv, says in [
        (["status", "not-a-link"], "burnafter: das ist kein Beleg-Link: "),
        (["status", "not-a-link", "--json"], '{"error": "that is not a receipt link: '),
    ]:
        with pytest.raises(SystemExit) as exited:
            main(argv)
        assert exited.value.code == 6
        assert capsys.readouterr().err.startswith(says)
    assert translated.speech() is ENGLISH


def test_wide_and_combining_characters_take_their_columns() -> None:
    assert [columns("views:"), columns("閲覧:"), columns("ดู"), columns("เปิดดู")] == [6, 5, 1, 4]
    assert padded("閲覧:", 8) == "閲覧:   " and padded("a", 0) == "a"
    assert columns("می\u200cشود") == 5  # the zero-width non-joiner takes no column


COLON = "\uff1a"  # Japanese ends a label with the full-width colon


def test_labels_line_up_in_japanese() -> None:
    """The values of `burnafter status` begin in one column, whatever the labels'
    script: two columns for each of their Japanese characters (a label longer than
    the column pushes its own value on)."""
    speak(speech_for({"LANG": "ja_JP.UTF-8"}))
    try:
        lines = describe_receipt(
            {"state": "active", "views": 0, "max_views": 2, "passphrase": True,
             "failed_attempts": 1, "max_attempts": 5,
             "created_at": "c", "expires_at": "e", "events": []}
        )  # fmt: skip
    finally:
        speak(None)
    labelled = [line for line in lines if COLON in line[:8] and not line.endswith(COLON)]
    assert len(labelled) >= 4, lines
    for line in labelled:
        label = line[: line.index(COLON) + 1]
        value_at = len(line) - len(line[len(label) :].lstrip(" "))
        # 10 columns of label and a space; a longer label, a space, pushes its value on.
        assert columns(line[:value_at]) == max(11, columns(label) + 1), lines
    assert {columns(line[: line.index(COLON) + 1]) for line in labelled} & set(range(11)), lines
