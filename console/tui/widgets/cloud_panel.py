"""The cloud panel: endpoint, circuit breaker, latency, last error, API key presence."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static

from console.outside_text import clean
from console.tui.widgets.formatting import seconds
from console.tui.widgets.views import CloudView
from console.tui.words import cloud_health

_STATE_STYLE = {"closed": "$success", "half_open": "$warning", "open": "$error"}


def render_cloud(view: CloudView) -> Content:
    """The cloud endpoint's health in a few lines."""
    state = cloud_health(view.state, view.cooldown_remaining_s)
    if view.consecutive_failures:
        state += f" · {view.consecutive_failures} failed in a row"
    if view.key_present:
        key = Content.styled(f"key ${view.key_env} set", "$success")
    elif view.key_required:
        key = Content.styled(f"no key: set ${view.key_env}", "$error")
    else:
        key = Content.styled("no key needed (endpoint on this machine)", "$text-muted")
    lines = [
        Content.assemble(
            (clean(view.label), "bold"), ("  ", ""), (clean(view.endpoint), "$text-muted")
        ),
        Content.assemble(
            (state, _STATE_STYLE.get(view.state, "$warning")),
            (f"  (breaker {view.state.replace('_', '-')})", "$text-muted"),
        ),
        Content.assemble(
            ("latency p50 ", "$text-muted"),
            seconds(view.latency_p50_s),
            ("  p95 ", "$text-muted"),
            seconds(view.latency_p95_s),
            ("  ttft p50 ", "$text-muted"),
            seconds(view.ttft_p50_s),
        ),
        key,
    ]
    if view.last_error:
        lines.append(
            Content.assemble(("last error ", "$text-muted"), (clean(view.last_error), "$error"))
        )
    return Content("\n").join(lines)


class CloudPanel(Static):
    """Health of the OpenAI-compatible endpoint."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__("probing…", id=id, classes=classes)
        self.border_title = "Cloud"
        self._view: CloudView | None = None

    def show(self, view: CloudView) -> None:
        """Render `view` when it changed."""
        if view != self._view:
            self._view = view
            self.update(render_cloud(view))
