"""The documentation stays true: every command is in the README, config.toml matches the schema."""

from __future__ import annotations

import re
from pathlib import Path

import click
from pydantic import BaseModel

from console.cli import cli
from policies.config import Config, parse_config

ROOT = Path(__file__).resolve().parent.parent


def _commands(group: click.Group, prefix: str = "") -> list[str]:
    names: list[str] = []
    for name, command in group.commands.items():
        names.append(f"{prefix}{name}")
        if isinstance(command, click.Group):
            names.extend(_commands(command, f"{prefix}{name} "))
    return names


def test_every_command_is_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    missing = [name for name in _commands(cli) if f"switchboard {name}" not in readme]
    assert not missing, f"commands missing from README.md: {missing}"


def test_shipped_config_is_the_defaults() -> None:
    # The file documents the defaults: loading it must give exactly what no file gives.
    assert parse_config((ROOT / "config.toml").read_text()) == Config()


def _section_lines(lines: list[str], section: str) -> list[str]:
    start = lines.index(f"[{section}]")
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("[")), len(lines))
    return lines[start + 1 : end]


def test_every_config_key_is_written_and_commented_in_config_toml() -> None:
    text = (ROOT / "config.toml").read_text()
    lines = text.splitlines()
    for section, field in Config.model_fields.items():
        if section == "prices":
            assert '# [prices."' in text
            continue
        model = field.annotation
        assert model is not None and hasattr(model, "model_fields"), section
        tables = [(section, model)]
        for key, inner in model.model_fields.items():
            if isinstance(inner.annotation, type) and issubclass(inner.annotation, BaseModel):
                tables.append((f"{section}.{key}", inner.annotation))
        for table, schema in tables:
            _check_table(lines, table, schema)


def _check_table(lines: list[str], section: str, model: type[BaseModel]) -> None:
    assert f"[{section}]" in lines, f"[{section}] missing"
    body = _section_lines(lines, section)
    for key, field in model.model_fields.items():
        if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
            continue  # a nested table, checked on its own
        if key in ("recognizers", "servers"):  # arrays of tables, shown as commented examples
            assert f"# [[{section}.{key}]]" in body
            continue
        number = next((i for i, line in enumerate(body) if re.match(rf"{key}\s*=", line)), None)
        assert number is not None, f"{section}.{key} missing from config.toml"
        # A key, or the small group of keys (at most four) it belongs to, has a comment
        # just above it.
        above = number - 1
        while above >= max(0, number - 4) and re.match(r"[a-z_]+\s*=|\s|\]", body[above]):
            above -= 1
        assert above >= 0 and body[above].startswith("#"), f"{section}.{key}: no comment"
