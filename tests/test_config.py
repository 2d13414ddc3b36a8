"""config.toml: line-numbered errors via the real CLI, live edits keeping comments, hand edits."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import BaseModel

from policies.config import (
    Config,
    ConfigError,
    ConfigStore,
    load_config,
    parse_config,
    with_changes,
)

REPO = Path(__file__).resolve().parent.parent
SHIPPED = REPO / "config.toml"

# (file contents, the exact one-line error after "switchboard: <path>")
BROKEN = {
    "unknown_key": (
        "[router]\n# typo below\ncomplexity_treshold = 0.5\n",
        ":3: unknown key 'router.complexity_treshold'",
    ),
    "wrong_type": (
        '[local]\nn_threads = 2\n\n[router]\nmax_queue_depth = "two"\n',
        ":5: 'router.max_queue_depth': Input should be a valid integer, unable to parse string"
        " as an integer",
    ),
    "out_of_range": (
        "[router]\ndefault_tier = 'local'\ncomplexity_threshold = 1.5\n",
        ":3: 'router.complexity_threshold': Input should be less than or equal to 1",
    ),
    "invalid_toml": (
        "[router]\ncomplexity_threshold = 0.5\n[budget\ndaily_usd = 1\n",
        ":3: not valid TOML: Expected ']' at the end of a table declaration (column 8)",
    ),
}


@pytest.fixture(scope="module")
def cli_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, int, str, str]]:
    """Every broken file through the real `switchboard route` entry point, run in parallel."""
    folder = tmp_path_factory.mktemp("configs")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    started = {}
    for name, (text, _) in BROKEN.items():
        path = folder / f"{name}.toml"
        path.write_text(text, encoding="utf-8")
        command = [
            sys.executable,
            "-c",
            "from console.cli import main; main()",
            "--config",
            str(path),
            "route",
            "hello",
            "--json",
        ]
        started[name] = (
            path,
            subprocess.Popen(
                command,
                cwd=folder,
                env=env,
                text=True,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            ),
        )
    runs = {}
    for name, (path, process) in started.items():
        out, err = process.communicate(timeout=120)
        runs[name] = (path, process.returncode, out, err)
    return runs


@pytest.mark.parametrize("name", list(BROKEN))
def test_cli_names_the_key_and_line_and_exits_2(
    cli_runs: dict[str, tuple[Path, int, str, str]], name: str
) -> None:
    path, code, out, err = cli_runs[name]
    assert code == 2
    assert out == ""
    assert err == f"switchboard: {path}{BROKEN[name][1]}\n"


def test_shipped_config_is_valid_and_documents_every_key() -> None:
    assert load_config(SHIPPED) == Config()
    lines = SHIPPED.read_text(encoding="utf-8").splitlines()
    where: dict[tuple[str, str], int] = {}
    section = ""
    for index, line in enumerate(lines):
        if line.startswith("["):
            section = line.strip("[]")
        elif "=" in line and line[0].isalpha():
            where[(section, line.split("=")[0].strip())] = index
    for name, field in Config.model_fields.items():
        if name == "prices":
            continue
        assert field.annotation is not None
        keys: list[tuple[str, str]] = []
        for key, sub in field.annotation.model_fields.items():
            if isinstance(sub.annotation, type) and issubclass(sub.annotation, BaseModel):
                # A nested table such as [router.tasks]: its keys are documented under it.
                keys += [(f"{name}.{key}", inner) for inner in sub.annotation.model_fields]
            elif key not in ("recognizers", "servers"):  # arrays of tables: commented examples
                keys.append((name, key))
        for table, key in keys:
            assert (table, key) in where, f"[{table}] {key} missing from config.toml"
            index = where[(table, key)]
            # A key shares the comment above its group of consecutive assignments.
            while index > 0 and (lines[index - 1][:1].isalpha() or lines[index - 1][:1] in " ]"):
                index -= 1
            assert lines[index - 1].startswith("#"), f"[{table}] {key} has no comment"


def test_errors_inside_arrays_of_tables_and_quoted_keys_point_at_their_line() -> None:
    prices = '# models\n[prices."gpt-4.1"]\ninput_per_mtok = 1.0\noutput_per_mtok = -2.0\n'
    with pytest.raises(ConfigError, match=r"^c\.toml:4: 'prices\.gpt-4\.1\.output_per_mtok'"):
        parse_config(prices, "c.toml")
    recognizers = (
        '[[pii.recognizers]]\nname = "a"\nentity = "A"\npattern = "x"\n\n'
        '[[pii.recognizers]]\nname = "b"\nentity = "B"\npattern = "("\n'
    )
    with pytest.raises(ConfigError, match=r"^c\.toml:9: 'pii\.recognizers\.1\.pattern'.*regular"):
        parse_config(recognizers, "c.toml")


@pytest.fixture
def store(tmp_path: Path) -> ConfigStore:
    path = tmp_path / "config.toml"
    path.write_bytes(SHIPPED.read_bytes())
    return ConfigStore.open(path)


def test_live_edit_changes_only_the_values_and_keeps_every_comment(store: ConfigStore) -> None:
    before = store.path.read_text(encoding="utf-8").splitlines(keepends=True)
    config = store.set(
        {"router.complexity_threshold": "0.4", "budget.daily_usd": 5, "pii.on_pii": "redact"}
    )
    assert config.router.complexity_threshold == 0.4
    assert store.config is config
    assert load_config(store.path) == config
    after = store.path.read_text(encoding="utf-8").splitlines(keepends=True)
    assert len(after) == len(before)
    changed = {
        i: (old, new) for i, (old, new) in enumerate(zip(before, after, strict=True)) if old != new
    }
    assert sorted(new for _, new in changed.values()) == [
        "complexity_threshold = 0.4\n",
        "daily_usd = 5.0\n",
        'on_pii = "redact"\n',
    ]
    assert sorted(old for old, _ in changed.values()) == [
        "complexity_threshold = 0.6\n",
        "daily_usd = 2.0\n",
        'on_pii = "local"\n',
    ]


def test_live_edit_of_a_list_and_of_a_key_not_yet_in_the_file(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("# mine\n[router]\n# keep me\ndefault_tier = 'cloud'  # why\n", "utf-8")
    store = ConfigStore.open(path)
    store.set({"pii.allow_list": "Acme, Globex", "router.max_queue_depth": "7"})
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# mine\n[router]\n# keep me\ndefault_tier = 'cloud'  # why\n")
    assert "max_queue_depth = 7\n" in text
    assert 'allow_list = ["Acme", "Globex"]' in text
    assert store.config.pii.allow_list == ("Acme", "Globex")
    assert store.config.router.default_tier == "cloud"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"router.complexity_threshold": "2"}, "'router.complexity_threshold': Input should be"),
        ({"router.complexity_threshold": "high"}, "valid number"),
        ({"router.no_such_key": "1"}, "'router.no_such_key': unknown key"),
        ({"cloud.base_url": "http://x"}, "not an editable key"),
        ({"pii.on_pii": "email"}, "'pii.on_pii': Input should be 'local', 'redact' or 'block'"),
    ],
)
def test_invalid_live_edits_are_refused_and_the_file_is_untouched(
    store: ConfigStore, changes: dict[str, str | int | float | bool], message: str
) -> None:
    before = store.path.read_bytes()
    with pytest.raises(ConfigError, match=message):
        store.set(changes)
    assert store.path.read_bytes() == before
    assert store.config == Config()


def _hand_edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_hand_edit_is_picked_up_and_a_broken_one_keeps_the_last_good(store: ConfigStore) -> None:
    assert store.reload_if_changed() is False
    _hand_edit(store.path, "max_queue_depth = 2", "max_queue_depth = 12")
    assert store.reload_if_changed() is True
    assert store.config.router.max_queue_depth == 12

    _hand_edit(store.path, "max_local_cpu = 95.0", "max_local_cpu = 250.0")
    for _ in range(2):  # it keeps saying so until the file is fixed
        with pytest.raises(ConfigError, match=r"config\.toml:\d+: 'router\.max_local_cpu'"):
            store.reload_if_changed()
        assert store.config.router.max_local_cpu == 95.0
        assert store.config.router.max_queue_depth == 12
    assert store.error is not None
    with pytest.raises(ConfigError, match="max_local_cpu"):
        store.set({"router.complexity_threshold": "0.3"})

    _hand_edit(store.path, "max_local_cpu = 250.0", "max_local_cpu = 80.0")
    assert store.reload_if_changed() is True
    assert store.error is None
    assert store.config.router.max_local_cpu == 80.0


def test_live_edit_keeps_a_hand_edit_made_meanwhile(store: ConfigStore) -> None:
    _hand_edit(store.path, "daily_usd = 2.0", "daily_usd = 9.0")
    config = store.set({"router.complexity_threshold": "0.5"})
    assert (config.budget.daily_usd, config.router.complexity_threshold) == (9.0, 0.5)
    assert store.reload_if_changed() is False


def test_with_changes_coerces_command_line_strings() -> None:
    config = with_changes(
        Config(),
        {"router.max_queue_depth": "4", "local.temperature": "0", "pii.deny_list": "X,Y"},
    )
    assert config.router.max_queue_depth == 4
    assert config.local.temperature == 0.0
    assert config.pii.deny_list == ("X", "Y")


def test_the_task_profile_is_edited_live_like_any_key(store: ConfigStore, tmp_path: Path) -> None:
    before = store.path.read_text(encoding="utf-8").splitlines(keepends=True)
    config = store.set({"router.tasks.math": "local", "router.tasks.factual": "0.8"})
    assert (config.router.tasks.math, config.router.tasks.factual) == ("local", 0.8)
    assert load_config(store.path) == config
    after = store.path.read_text(encoding="utf-8").splitlines(keepends=True)
    changed = sorted(new for old, new in zip(before, after, strict=True) if old != new)
    assert changed == ["factual = 0.8\n", 'math = "local"\n']
    assert (
        with_changes(config, {"router.tasks.min_confidence": "0.7"}).router.tasks.min_confidence
        == 0.7
    )
    for key, value, message in (
        ("router.tasks.nope", "local", "unknown key"),
        ("router.tasks", "local", "unknown key"),
        ("router.tasks.math", "pool-ish", "router.tasks.math"),
        ("router.tasks.math", "1.5", "router.tasks.math"),
    ):
        with pytest.raises(ConfigError, match=message):
            with_changes(config, {key: value})
    # A file without a [router.tasks] table gets one.
    bare = tmp_path / "bare.toml"
    bare.write_text("[router]\ndefault_tier = 'local'\n", "utf-8")
    ConfigStore.open(bare).set({"router.tasks.code": "local"})
    assert load_config(bare).router.tasks.code == "local"
    assert "[router.tasks]" in bare.read_text(encoding="utf-8")
