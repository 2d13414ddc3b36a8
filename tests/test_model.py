"""Model resolution and checks: the bundled model, foreign and broken files; prompt formats."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from engines.base import Message
from engines.model import (
    ModelError,
    bundled_model_path,
    read_gguf_info,
    resolve_model,
)
from engines.prompt_format import DIALOGUE_STOPS, dialogue_prompt, template_prompt
from policies.config import SetupError


def gguf_bytes(architecture: str, version: int = 3) -> bytes:
    """A header-only GGUF: no tensors, one metadata key."""
    key, value = b"general.architecture", architecture.encode()
    return (
        b"GGUF"
        + struct.pack("<IQQ", version, 0, 1)
        + struct.pack("<Q", len(key))
        + key
        + struct.pack("<IQ", 8, len(value))
        + value
    )


def test_bundled_model_resolves_to_a_verified_gguf(bundled_model_path: Path) -> None:
    resolved = resolve_model("bundled")
    assert resolved.path == bundled_model_path
    assert resolved.label == "gemma-3-270m-q4_k_m.gguf"
    assert resolved.info.architecture == "gemma3"
    assert resolved.info.chat_template is None
    assert resolved.info.file_size == bundled_model_path.stat().st_size
    stamp = bundled_model_path.with_name(bundled_model_path.name + ".verified")
    assert stamp.read_text().split()[0] == str(resolved.info.file_size)


def test_assembly_is_atomic_and_repairs_a_corrupt_cache(tmp_path: Path) -> None:
    path = bundled_model_path(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name, path.name + ".verified"]
    size = path.stat().st_size
    with path.open("r+b") as handle:
        handle.seek(size // 2)
        handle.write(b"\0" * 64)
    rebuilt = bundled_model_path(tmp_path)
    assert rebuilt == path
    assert path.read_bytes()[size // 2 : size // 2 + 64] != b"\0" * 64
    assert not list(tmp_path.glob(".*partial"))


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope.gguf"
    with pytest.raises(ModelError, match=f"{missing}: no such file .*GGUF") as info:
        resolve_model(str(missing))
    assert isinstance(info.value, SetupError)


def test_non_gguf_file_is_refused(tmp_path: Path) -> None:
    text = tmp_path / "notes.gguf"
    text.write_text("just some text, not a model\n")
    with pytest.raises(ModelError, match=f"{text}: not a GGUF file"):
        resolve_model(str(text))


def test_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=f"{tmp_path}: not a file"):
        read_gguf_info(tmp_path)


def test_truncated_tensor_data_is_refused(bundled_model_path: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut.gguf"
    with bundled_model_path.open("rb") as handle:
        cut.write_bytes(handle.read(8 << 20))
    with pytest.raises(ModelError, match=f"{cut}: truncated GGUF file .*tensors need 253113024"):
        read_gguf_info(cut)


def test_truncated_header_is_refused(bundled_model_path: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut.gguf"
    with bundled_model_path.open("rb") as handle:
        cut.write_bytes(handle.read(1000))
    with pytest.raises(ModelError, match=f"{cut}: truncated GGUF file \\(header cut short"):
        read_gguf_info(cut)


def test_unsupported_version_is_refused(tmp_path: Path) -> None:
    old = tmp_path / "old.gguf"
    old.write_bytes(gguf_bytes("llama", version=1))
    with pytest.raises(ModelError, match=f"{old}: GGUF version 1 is not supported"):
        read_gguf_info(old)


def test_header_only_gguf_reads(tmp_path: Path) -> None:
    tiny = tmp_path / "tiny.gguf"
    tiny.write_bytes(gguf_bytes("nonsense"))
    info = read_gguf_info(tiny)
    assert (info.version, info.tensor_count, info.architecture) == (3, 0, "nonsense")


def test_dialogue_prompt_for_a_base_model() -> None:
    prompt = dialogue_prompt(
        (
            Message("system", "Be terse."),
            Message("user", "Hi"),
            Message("assistant", "Hello."),
            Message("user", "Capital of France?"),
        )
    )
    assert prompt.text.startswith("Be terse.\n\n")
    assert prompt.text.endswith("User: Hi\nAssistant: Hello.\nUser: Capital of France?\nAssistant:")
    assert prompt.stop == DIALOGUE_STOPS
    assert prompt.add_bos


def test_template_prompt_uses_the_models_template() -> None:
    template = (
        "{{ bos_token }}{% for m in messages %}<|{{ m.role }}|>{{ m.content }}{{ eos_token }}"
        "{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}"
    )
    prompt = template_prompt(template, (Message("user", "Hi"),), bos="<s>", eos="</s>")
    assert prompt.text == "<s><|user|>Hi</s><|assistant|>"
    assert prompt.stop == ("</s>",)
    assert not prompt.add_bos


def test_broken_template_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="chat template failed"):
        template_prompt("{{ raise_exception('no system role') }}", (), bos="", eos="")
