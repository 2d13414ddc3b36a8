"""Turning a conversation into the text a local model continues.

A GGUF with a chat template (`tokenizer.chat_template`) gets its own template, rendered the way
llama-cpp-python renders it. A base model without one (the bundled Gemma 3 270M) gets a plain
dialogue: it continues "User: ...\\nAssistant:" sensibly only with a one-shot example in front and
stop sequences that end the answer at the next turn or at a blank line (checked by hand: greedy,
it answers "Paris." to the capital of France and "Red, yellow and blue." to three colours).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from engines.base import Message

DEFAULT_INSTRUCTION = "The assistant answers the user's questions helpfully, correctly and briefly."
ONE_SHOT = (
    "User: What is the boiling point of water?\nAssistant: Water boils at 100 °C at sea level.\n"
)
DIALOGUE_STOPS = ("\nUser:", "\nAssistant:", "\n\n")
_SPEAKER = {"user": "User", "assistant": "Assistant"}


@dataclass(frozen=True)
class Prompt:
    """The text to continue, the strings that end the answer, and whether BOS must be added."""

    text: str
    stop: tuple[str, ...]
    add_bos: bool


def dialogue_prompt(messages: Sequence[Message]) -> Prompt:
    """A plain "User:/Assistant:" dialogue for a base model; system messages become the preamble."""
    system = " ".join(m.content.strip() for m in messages if m.role == "system")
    lines = [(system or DEFAULT_INSTRUCTION) + "\n\n" + ONE_SHOT]
    for message in messages:
        if message.role != "system":
            lines.append(f"{_SPEAKER[message.role]}: {message.content.strip()}\n")
    lines.append("Assistant:")
    return Prompt(text="".join(lines), stop=DIALOGUE_STOPS, add_bos=True)


def template_prompt(template: str, messages: Sequence[Message], bos: str, eos: str) -> Prompt:
    """Render the GGUF's own chat template (Jinja2, as llama-cpp-python does); EOS ends the answer.

    Raises ValueError when the template cannot render this conversation.
    """
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    formatter = Jinja2ChatFormatter(template=template, eos_token=eos, bos_token=bos)
    turns: list[Any] = [{"role": m.role, "content": m.content} for m in messages]
    try:
        result = formatter(messages=turns)
    except Exception as exc:  # jinja2 raises many types, and templates call raise_exception()
        raise ValueError(f"the model's chat template failed: {exc}") from None
    raw_stop = result.stop or []
    stops = tuple(s for s in ([raw_stop] if isinstance(raw_stop, str) else raw_stop) if s)
    return Prompt(text=result.prompt, stop=stops, add_bos=not result.added_special)
