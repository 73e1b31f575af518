"""The client's settings: ``BURNAFTER_*`` variables."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.client.settings import ClientSettingsError, load_client_settings


def test_the_client_reads_its_token_from_the_environment_or_a_file(tmp_path: Path) -> None:
    assert load_client_settings({}).api_token is None
    assert load_client_settings({"BURNAFTER_TOKEN": " bat_x \n"}).api_token == "bat_x"
    token_file = tmp_path / "token"
    token_file.write_text("bat_from_file\nignored\n")
    assert load_client_settings({"BURNAFTER_TOKEN_FILE": str(token_file)}).api_token == (
        "bat_from_file"
    )
    with pytest.raises(ClientSettingsError, match="BURNAFTER_TOKEN_FILE"):
        load_client_settings({"BURNAFTER_TOKEN_FILE": str(tmp_path / "missing")})
