"""The README stays true to the code: every setting in its table, every command it names exists."""

from __future__ import annotations

import re
from pathlib import Path

from backend.settings import describe_settings

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_in_the_configuration_table() -> None:
    table = {m.group(1) for m in re.finditer(r"^\| `([A-Z0-9_]+)` \|", README, re.MULTILINE)}
    assert {name for name, _default, _description in describe_settings()} <= table


def test_every_setting_in_the_table_exists() -> None:
    known = {name for name, _default, _description in describe_settings()}
    section = README.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    table = {m.group(1) for m in re.finditer(r"^\| `([A-Z0-9_]+)` \|", section, re.MULTILINE)}
    assert table <= known


def test_the_scripts_the_readme_names_exist_and_are_executable() -> None:
    for script in sorted(set(re.findall(r"scripts/[a-z0-9_./-]*[a-z0-9_-]", README))):
        path = ROOT / script
        assert path.is_file(), script
        assert path.stat().st_mode & 0o111, f"{script} is not executable"
