"""The local engine panel: CPU per core, engine threads, tokens/s, memory, queue depth, and
n_threads against the physical cores."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Sparkline, Static

from console.outside_text import clean
from console.tui.widgets.formatting import bar, seconds, size, tps
from console.tui.widgets.views import LocalView

#: Engine threads listed by name; the rest are summed so the panel keeps its height.
MAX_THREADS_SHOWN = 4


def thread_warning(view: LocalView) -> str | None:
    """Why n_threads and the physical cores disagree, or None when they match."""
    if view.n_threads <= 0 or view.physical_cores <= 0 or view.n_threads == view.physical_cores:
        return None
    if view.n_threads > view.physical_cores:
        return (
            f"n_threads {view.n_threads} > {view.physical_cores} physical cores: "
            "threads contend, generation slows"
        )
    return f"n_threads {view.n_threads} < {view.physical_cores} physical cores: cores left idle"


def render_load(view: LocalView) -> Content:
    """Engine state, one bar per core and the busiest engine threads."""
    lines: list[Content] = [
        Content.assemble(
            ("● ", _state_style(view.state)), (view.state, "bold"), "  ", clean(view.label)
        )
    ]
    for index, pct in enumerate(view.per_core_pct):
        lines.append(Content.assemble(f"cpu{index:<2}", bar(pct / 100, 16), f" {pct:5.1f}%"))
    threads = sorted(view.threads, key=lambda t: t.cpu_pct, reverse=True)
    shown = threads[:MAX_THREADS_SHOWN]
    parts = [f"{clean(t.name)} {t.cpu_pct:.0f}%" for t in shown]
    if len(threads) > len(shown):
        rest = sum(t.cpu_pct for t in threads[len(shown) :])
        parts.append(f"+{len(threads) - len(shown)} {rest:.0f}%")
    lines.append(
        Content.assemble(
            ("engine ", "$text-muted"),
            f"{view.process_cpu_pct:.0f}% cpu",
            ("  threads ", "$text-muted"),
            " · ".join(parts) if parts else "—",
        )
    )
    return Content("\n").join(lines)


def render_figures(view: LocalView) -> Content:
    """Speed, memory, queue and the thread/core check under the sparkline."""
    lines = [
        Content.assemble(
            tps(view.last_tps),
            ("  ttft ", "$text-muted"),
            seconds(view.last_ttft_s),
            ("  rss ", "$text-muted"),
            size(view.rss_bytes),
            ("  queue ", "$text-muted"),
            str(view.queue_depth),
        ),
    ]
    warning = thread_warning(view)
    threads = f"n_threads {view.n_threads} / {view.physical_cores} physical cores"
    if warning:
        lines.append(Content.styled(f"⚠ {warning}", "$warning"))
    else:
        lines.append(Content.styled(f"✓ {threads}", "$text-muted"))
    if view.last_error:
        lines.append(Content.styled(clean(view.last_error), "$error"))
    return Content("\n").join(lines)


def _state_style(state: str) -> str:
    if state in ("ready", "busy"):
        return "$success"
    if state in ("failed", "stopped"):
        return "$error"
    return "$warning"


class LocalPanel(Vertical):
    """Live figures of the llama.cpp engine process."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.border_title = "Local engine"
        self._view: LocalView | None = None

    def compose(self) -> ComposeResult:
        yield Static("starting…", id="local-load")
        yield Sparkline([], id="local-tps")
        yield Static("", id="local-figures")

    def show(self, view: LocalView) -> None:
        """Render `view` (a no-op when nothing changed, so 1-2 Hz refreshes stay cheap)."""
        if view == self._view:
            return
        self._view = view
        self.query_one("#local-load", Static).update(render_load(view))
        sparkline = self.query_one("#local-tps", Sparkline)
        sparkline.data = list(view.tps_history)
        self.query_one("#local-figures", Static).update(render_figures(view))
