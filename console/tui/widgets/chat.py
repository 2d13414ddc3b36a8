"""The conversation: each prompt with its streamed Markdown answer and its badge."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import Markdown, Static
from textual.widgets.markdown import MarkdownStream

from console.outside_text import clean
from console.tui.widgets.badge import AnswerBadge
from console.tui.widgets.views import AnswerMeta

if TYPE_CHECKING:
    from console.dispatch import RequestResult


class AnswerView(Vertical, can_focus=True):
    """One exchange. Focusable, so an answer can be picked for the inspector."""

    def __init__(self, answer_id: int, prompt: str) -> None:
        super().__init__(id=f"answer-{answer_id}", classes="answer")
        self.answer_id = answer_id
        self.prompt = prompt
        self.result: RequestResult | None = None
        self.meta: AnswerMeta | None = None
        self._stream: MarkdownStream | None = None
        self._raw: list[str] = []
        self._shown = ""

    def compose(self) -> ComposeResult:
        yield Static(
            Content.assemble(("› ", "bold $accent"), clean(self.prompt)),
            classes="prompt",
        )
        yield Static("", classes="progress")
        yield Markdown("", classes="text")
        yield AnswerBadge("", classes="badge")

    @property
    def text(self) -> str:
        """The answer as shown so far (escape sequences and control characters removed)."""
        return self._shown

    def set_progress(self, line: str) -> None:
        """What the request is doing now (waiting for a model, routed, falling back); `line`
        may quote outside text (an error body), so it is cleaned."""
        self.query_one(".progress", Static).update(Content.styled(clean(line), "$text-muted"))

    async def append(self, fragment: str) -> None:
        """Stream a fragment of the answer into the Markdown view.

        An escape sequence may be split across fragments, so the whole answer so far is cleaned
        and only what it adds is written; should cleaning ever shorten what was already shown
        (a sequence completed), the view is rewritten from the clean text.
        """
        self._raw.append(fragment)
        shown = clean("".join(self._raw))
        if shown.startswith(self._shown):
            delta = shown[len(self._shown) :]
        else:
            await self._stop_stream()
            await self.query_one(Markdown).update("")
            delta = shown
        self._shown = shown
        if not delta:
            return
        if self._stream is None:
            self._stream = Markdown.get_stream(self.query_one(Markdown))
        await self._stream.write(delta)

    async def _stop_stream(self) -> None:
        if self._stream is not None:
            await self._stream.stop()
            self._stream = None

    async def restart(self) -> None:
        """Drop the text of a tier that failed: the next tier answers from the start."""
        await self._stop_stream()
        self._raw.clear()
        self._shown = ""
        await self.query_one(Markdown).update("")

    async def finish(self, meta: AnswerMeta, result: RequestResult | None = None) -> None:
        """Close the stream and show the badge; `result` is kept for the inspector."""
        await self._stop_stream()
        self.result = result
        self.meta = meta
        self.set_progress("")
        self.query_one(".progress", Static).display = False
        self.query_one(AnswerBadge).show(meta)
        self.add_class("-done")


class ChatLog(VerticalScroll):
    """All answers of this session, newest at the bottom, following the stream."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = "Chat"

    def on_mount(self) -> None:
        self.anchor()

    async def add_answer(self, answer_id: int, prompt: str) -> AnswerView:
        """A new exchange at the bottom."""
        view = AnswerView(answer_id, prompt)
        await self.mount(view)
        self.anchor()
        return view

    def answer(self, answer_id: int) -> AnswerView | None:
        """The exchange with this id, if it is still shown."""
        found = self.query(f"#answer-{answer_id}")
        return found.first(AnswerView) if found else None

    @property
    def answers(self) -> list[AnswerView]:
        """Every exchange, oldest first."""
        return list(self.query(AnswerView))
