"""The README stays true: every setting is in its configuration table, and nothing else is."""

from __future__ import annotations

import re
from pathlib import Path

from postwizard.config import Settings

README = Path(__file__).parent.parent / "README.md"


def test_readme_configuration_table_lists_exactly_the_settings() -> None:
    documented = set(
        re.findall(r"^\| `(POSTWIZARD_[A-Z_]+)` \|", README.read_text(), flags=re.MULTILINE)
    )
    actual = {f"POSTWIZARD_{name.upper()}" for name in Settings.model_fields}
    assert documented == actual


def test_readme_shows_the_two_commands() -> None:
    text = README.read_text()
    assert "make run" in text
    assert "make test" in text
