"""Where ``burnafter open`` writes a sender's files (review findings 11 and 12)."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.cli.client_commands import safe_name, safe_targets


@pytest.mark.parametrize(
    ("sent", "written"),
    [
        ("\x1b[31mred.txt", "_[31mred.txt"),  # a terminal escape sequence
        ("invoice\u202efdp.exe", "invoice_fdp.exe"),  # a right-to-left override
        ("../../etc/passwd", "passwd"),
        (".bashrc", "bashrc"),
        ("a\x00b", "a_b"),
        ("", "file"),
    ],
)
def test_names_lose_folders_dots_and_control_characters(sent: str, written: str) -> None:
    assert safe_name(sent) == written


def test_targets_never_overwrite_and_never_repeat(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("already here")
    (tmp_path / "a (2).txt").write_text("already here")
    targets = safe_targets(tmp_path, ["a.txt", "a.txt", "a.txt", "b"])
    assert [t.name for t in targets] == ["a (1).txt", "a (3).txt", "a (4).txt", "b"]


def test_a_thousand_files_of_one_name_cost_linear_look_ups(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    probes = 0
    exists = Path.exists

    def counted(self: Path) -> bool:
        nonlocal probes
        probes += 1
        return exists(self)

    monkeypatch.setattr(Path, "exists", counted)
    targets = safe_targets(tmp_path, ["same.bin"] * 1000)
    assert len(set(targets)) == 1000
    assert probes <= 2 * 1000
