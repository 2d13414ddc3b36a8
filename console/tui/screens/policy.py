"""Policy editor: the thresholds of [router], [pii] and [budget], edited live, with a what-if.

A field is checked against the real schema as it is typed (the same `with_changes` the store uses).
Every kind of field saves the same way: enter in a text field or ctrl+s saves all changed fields
through `Runtime.set_config`, which applies them to the next prompt and writes config.toml keeping
its comments; a choice changed in a select waits for that too. Escape asks before dropping
unsaved edits. The focused field's explanation comes from config.toml's own comments
(console/tui/field_help.py). Beside the form, a debounced thread worker re-decides the ledger
history under the values on screen and lists prompts that would move; another draws the
cost–quality curve of those values (console.quality_curve: a sweep of
`router.complexity_threshold`, judged on the ledger's evidence) with the threshold on the form
marked. The curve's history is read once per opening; moving only the threshold moves the mark.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, ClassVar, Literal

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.validation import ValidationResult, Validator
from textual.widgets import Footer, Input, Label, Select, Static
from textual.worker import Worker, WorkerState

from console.outside_text import as_text
from console.tui.field_help import field_help
from console.tui.keys import ALWAYS_SHOWN
from console.tui.screens import one_line, palette_of, runtime_of
from console.tui.screens.confirm import Confirm
from console.tui.widgets.quality_plot import QualityPlot
from console.tui.words import money
from policies.config import Config, ConfigError, ConfigStore, with_changes

if TYPE_CHECKING:
    from console.ledger import Ledger
    from console.quality_curve import QualityCurve
    from policies.whatif import ParsedHistory, TierEvidence, WhatIfResult

    #: What a curve is computed from: the parsed history and the evidence, read once.
    CurveInputs = tuple[ParsedHistory, dict[str, TierEvidence]]

#: Seconds of quiet typing before the what-if runs again.
WHATIF_DEBOUNCE_S = 0.4


@dataclass(frozen=True)
class FieldSpec:
    """One editable key: its dotted name, its label, and its choices when it is an enum."""

    key: str
    label: str
    choices: tuple[str, ...] = ()
    kind: Literal["number", "list", "choice"] = "number"


FIELDS: tuple[tuple[str, tuple[FieldSpec, ...]], ...] = (
    (
        "router",
        (
            FieldSpec("router.default_tier", "default tier", ("local", "cloud"), "choice"),
            FieldSpec("router.complexity_threshold", "complexity ≥ (0-1)"),
            FieldSpec("router.max_queue_depth", "max local queue"),
            FieldSpec("router.max_local_cpu", "max local CPU %"),
            FieldSpec("router.long_output_tokens", "long output tokens"),
            FieldSpec("router.latency_target_s", "latency target s"),
        ),
    ),
    (
        "pii",
        (
            FieldSpec("pii.on_pii", "on PII", ("local", "redact", "block"), "choice"),
            FieldSpec("pii.score_threshold", "score threshold"),
            FieldSpec("pii.allow_list", "allow list", kind="list"),
            FieldSpec("pii.deny_list", "deny list", kind="list"),
        ),
    ),
    (
        "budget",
        (
            FieldSpec("budget.daily_usd", "daily cap USD"),
            FieldSpec("budget.monthly_usd", "monthly cap USD"),
            FieldSpec("budget.warn_fraction", "warn at fraction"),
        ),
    ),
)

ALL_FIELDS: tuple[FieldSpec, ...] = tuple(spec for _, specs in FIELDS for spec in specs)


def field_id(key: str) -> str:
    """The widget id of the input for `key` (dots are not allowed in ids)."""
    return "field-" + key.replace(".", "-")


def error_id(key: str) -> str:
    """The widget id of the inline message under the input for `key`."""
    return "error-" + key.replace(".", "-")


def shown_value(config: Config, key: str) -> str:
    """The current value of `key` as the editor shows it (lists comma-separated)."""
    section, _, name = key.partition(".")
    value = getattr(getattr(config, section), name)
    if isinstance(value, tuple):
        return ", ".join(str(item) for item in value)
    return str(value)


def _without_key(message: str, key: str) -> str:
    """The error without the quoted key in front: the message sits beside the field already."""
    prefix = f"'{key}': "
    return message[len(prefix) :] if message.startswith(prefix) else message


class SchemaValidator(Validator):
    """Validates one field against the real config schema, as the store will."""

    def __init__(self, store: ConfigStore, key: str) -> None:
        super().__init__()
        self.store = store
        self.key = key

    def validate(self, value: str) -> ValidationResult:
        """Success when `key = value` gives a valid configuration."""
        try:
            with_changes(self.store.config, {self.key: value})
        except ConfigError as exc:
            return self.failure(_without_key(str(exc), self.key))
        return self.success()


#: Prompts the what-if lists by name (the rest are counted).
MOVED_SHOWN = 5


def describe_whatif(result: WhatIfResult, moved: tuple[tuple[str, str], ...] = ()) -> str:
    """The what-if in one sentence, a few figures, and some of the prompts that would move
    (`moved`: (tier they had, prompt) pairs)."""
    if result.total == 0:
        return "The ledger is empty: no past requests to re-decide yet."
    lines = [
        f"With these values, {result.changed} of the last {result.total} requests change tier"
        f" ({result.to_local} to local, {result.to_cloud} to cloud).",
        f"Cost {money(result.cost_before_usd)} → {money(result.cost_after_usd)}",
    ]
    if result.cost_unknown:
        lines.append(f"({result.cost_unknown} moved requests have no known cloud price)")
    if moved:
        lines.append("Prompts that move:")
        lines += [f"• was {tier}: {one_line(prompt, 60)}" for tier, prompt in moved]
        if result.changed > len(moved):
            lines.append(f"… and {result.changed - len(moved)} more")
    return "\n".join(lines)


class PolicyScreen(ModalScreen[None]):
    """Edit the routing, PII and budget thresholds; see their effect on past traffic."""

    CSS_PATH = "policy.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        *ALWAYS_SHOWN,
        Binding("escape", "close", "Close"),
        Binding("ctrl+s", "save_all", "Save"),
        Binding("ctrl+z", "revert", "Revert"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._debounce: Timer | None = None
        self._baseline: Config | None = None
        self._help: dict[str, str] = {}
        self._curve_inputs: CurveInputs | None = None
        #: The config the curve on screen was swept with, threshold left out (see _curve_key).
        self._curve_key: Config | None = None

    def compose(self) -> ComposeResult:
        store = runtime_of(self.app).store
        with Horizontal(id="policy-body"):
            with VerticalScroll(id="policy-form") as form:
                form.border_title = "Policy"
                form.border_subtitle = "enter or ctrl+s saves · esc asks first"
                for section, specs in FIELDS:
                    yield Static(f"[{section}]", classes="policy-section", markup=False)
                    for spec in specs:
                        yield from self._field(store, spec)
            with VerticalScroll(id="policy-side"):
                whatif = Static("What-if: change a value to see its effect.", id="policy-whatif")
                whatif.border_title = "What-if on the ledger"
                whatif.border_subtitle = "vs. values at opening"
                yield whatif
                yield Static("", id="policy-help")
                yield Static("", id="policy-status")
                plot = QualityPlot(id="policy-quality")
                plot.border_title = "Cost vs judged quality"
                plot.border_subtitle = "complexity threshold 0 → 1"
                yield plot
        yield Footer(compact=True, show_command_palette=False)

    def _field(self, store: ConfigStore, spec: FieldSpec) -> ComposeResult:
        value = shown_value(store.config, spec.key)
        with Horizontal(classes="policy-row"):
            yield Label(spec.label, classes="policy-label")
            if spec.kind == "choice":
                yield Select[str](
                    [(choice, choice) for choice in spec.choices],
                    value=value,
                    allow_blank=False,
                    compact=True,
                    id=field_id(spec.key),
                )
            else:
                yield Input(
                    value,
                    placeholder="comma-separated" if spec.kind == "list" else "",
                    validators=[SchemaValidator(store, spec.key)],
                    valid_empty=spec.kind == "list",
                    compact=True,
                    id=field_id(spec.key),
                )
        yield Static("", classes="policy-error", id=error_id(spec.key))

    def on_mount(self) -> None:
        store = runtime_of(self.app).store
        self._baseline = store.config
        self._help = field_help(store.path)
        self.query_one(f"#{field_id(ALL_FIELDS[1].key)}", Input).focus()
        ledger = runtime_of(self.app).ledger
        if ledger is not None:
            self._start_curve(ledger, store.config)
        else:
            self.query_one(QualityPlot).say("No ledger: no cost–quality curve.")

    @on(events.DescendantFocus)
    def _explain(self, event: events.DescendantFocus) -> None:
        """Show the focused field's explanation (config.toml's comment on it)."""
        key = self._key_of(event.widget.id)
        if key is None:
            return
        text = self._help.get(key, "No explanation in config.toml for this key.")
        self.query_one("#policy-help", Static).update(as_text(f"{key}: {text}"))

    # -- reading the form ------------------------------------------------------------------
    def _raw(self, spec: FieldSpec) -> str:
        widget = self.query_one(f"#{field_id(spec.key)}")
        if isinstance(widget, Select):
            return str(widget.value)
        assert isinstance(widget, Input)
        return widget.value

    def form_changes(self) -> dict[str, str | int | float | bool]:
        """The fields whose text differs from the configuration in force."""
        config = runtime_of(self.app).store.config
        return {
            spec.key: self._raw(spec)
            for spec in ALL_FIELDS
            if self._raw(spec).strip() != shown_value(config, spec.key)
        }

    def _show_error(self, key: str, message: str) -> None:
        error = self.query_one(f"#{error_id(key)}", Static)
        error.update(as_text(message))
        error.set_class(bool(message), "-shown")

    # -- editing ---------------------------------------------------------------------------
    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        key = self._key_of(event.input.id)
        if key is None:
            return
        result = event.validation_result
        self._show_error(key, "" if result is None or result.is_valid else _first(result))
        self._schedule_whatif()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        """Enter saves every changed field, as ctrl+s does."""
        if self._key_of(event.input.id) is not None:
            self.action_save_all()

    @on(Select.Changed)
    def _selected(self, event: Select.Changed) -> None:
        """A choice is an edit like any other: shown as unsaved until enter or ctrl+s."""
        if self._key_of(event.select.id) is None or not self.is_mounted:
            return
        if self.form_changes():
            self._status("unsaved changes: enter or ctrl+s saves them, ctrl+z reverts")
        self._schedule_whatif()

    def _key_of(self, widget_id: str | None) -> str | None:
        return next((spec.key for spec in ALL_FIELDS if field_id(spec.key) == widget_id), None)

    def _save(self, changes: dict[str, str | int | float | bool]) -> bool:
        """Save `changes` together, or none of them: a refused value is shown beside its field."""
        if not changes:
            self._status("nothing to save")
            return True
        refused = False
        for key, value in changes.items():
            try:
                with_changes(runtime_of(self.app).store.config, {key: value})
            except ConfigError as exc:
                self._show_error(key, _without_key(str(exc), key))
                refused = True
        if refused:
            self._status("not saved: fix the marked fields", error=True)
            return False
        try:
            config = runtime_of(self.app).set_config(changes)
        except ConfigError as exc:
            self._status(f"not saved: {exc}", error=True)
            return False
        for key in changes:
            self._show_error(key, "")
            self._set_field(key, shown_value(config, key))
        self._status(f"saved {', '.join(changes)} to {runtime_of(self.app).store.path}")
        self._schedule_whatif()
        return True

    def _set_field(self, key: str, value: str) -> None:
        widget = self.query_one(f"#{field_id(key)}")
        if isinstance(widget, Input) and widget.value != value:
            with widget.prevent(Input.Changed):
                widget.value = value

    def _status(self, message: str, *, error: bool = False) -> None:
        status = self.query_one("#policy-status", Static)
        status.update(as_text(message))
        status.set_class(error, "-error")

    def action_save_all(self) -> None:
        """Save every changed field at once."""
        self._save(self.form_changes())

    def action_close(self) -> None:
        """Close the editor; with unsaved edits, ask first (escape again keeps editing)."""
        changes = self.form_changes()
        if not changes:
            self.dismiss()
            return

        def answered(discard: bool | None) -> None:
            if discard:
                self.dismiss()
            else:
                self._status("still editing: enter or ctrl+s saves, ctrl+z reverts")

        self.app.push_screen(
            Confirm(
                "Unsaved edits",
                f"Discard the unsaved edits of {', '.join(changes)}?",
                go="discard them",
            ),
            answered,
        )

    def action_revert(self) -> None:
        """Put the values in force back into the form."""
        config = runtime_of(self.app).store.config
        for spec in ALL_FIELDS:
            widget = self.query_one(f"#{field_id(spec.key)}")
            if isinstance(widget, Select):
                with widget.prevent(Select.Changed):
                    widget.value = shown_value(config, spec.key)
            else:
                self._set_field(spec.key, shown_value(config, spec.key))
            self._show_error(spec.key, "")
        self._status("fields reverted")
        self._schedule_whatif()

    # -- what-if ---------------------------------------------------------------------------
    def _schedule_whatif(self) -> None:
        if self._debounce is not None:
            self._debounce.stop()
        self._debounce = self.set_timer(WHATIF_DEBOUNCE_S, self._start_whatif)

    def _start_whatif(self) -> None:
        runtime = runtime_of(self.app)
        if runtime.ledger is None:
            self._whatif_text(f"No ledger: {runtime.ledger_error or 'not open'}")
            self.query_one(QualityPlot).say(f"No ledger: {runtime.ledger_error or 'not open'}")
            return
        valid: dict[str, str | int | float | bool] = {}
        for key, value in self.form_changes().items():
            try:
                with_changes(runtime.store.config, {key: value})
            except ConfigError:
                continue
            valid[key] = value
        changed = with_changes(runtime.store.config, valid)
        baseline = self._baseline or runtime.store.config
        self._whatif_text("What-if: computing…")
        self.compute_whatif(runtime.ledger, baseline, changed)
        self._start_curve(runtime.ledger, changed)

    @work(thread=True, exclusive=True, exit_on_error=False, group="whatif")
    def compute_whatif(
        self, ledger: Ledger, baseline: Config, changed: Config
    ) -> tuple[WhatIfResult, tuple[tuple[str, str], ...]]:
        """Re-decide the ledger history under `changed` vs `baseline`, and read back a few of
        the prompts that move (in a thread)."""
        from policies.whatif import whatif

        result = whatif(ledger.iter_history(), baseline, changed)
        moved: list[tuple[str, str]] = []
        for request_id in result.sample_request_ids[:MOVED_SHOWN]:
            stored = ledger.get(request_id)
            if stored is not None:
                prompt = stored.prompt_text or f"(prompt not kept, {request_id[:8]})"
                moved.append((stored.tier, prompt))
        return result, tuple(moved)

    @on(Worker.StateChanged)
    def _whatif_done(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "whatif":
            return
        event.stop()
        if event.state == WorkerState.SUCCESS and event.worker.result is not None:
            result, moved = event.worker.result
            self._whatif_text(describe_whatif(result, moved))
        elif event.state == WorkerState.ERROR:
            self._whatif_text(f"What-if failed: {event.worker.error}")

    def _whatif_text(self, text: str) -> None:
        self.query_one("#policy-whatif", Static).update(as_text(text))

    # -- cost–quality curve ----------------------------------------------------------------
    def _start_curve(self, ledger: Ledger, config: Config) -> None:
        """Sweep again when a value other than the threshold changed; else move the mark."""
        plot = self.query_one(QualityPlot)
        key = _curve_key(config)
        threshold = config.router.complexity_threshold
        shown = plot.curve
        if shown is not None and key == self._curve_key and shown.point_at(threshold):
            plot.show_curve(replace(shown, current=threshold), palette_of(self.app))
            return
        self._curve_key = key
        if shown is None:
            plot.say("Cost–quality: computing…")
        self.compute_curve(ledger, config, self._curve_inputs)

    @work(thread=True, exclusive=True, exit_on_error=False, group="curve")
    def compute_curve(
        self, ledger: Ledger, config: Config, inputs: CurveInputs | None
    ) -> tuple[QualityCurve, CurveInputs]:
        """The threshold sweep of `config` over the history (read here the first time)."""
        from console.quality_curve import read_curve_inputs, threshold_curve

        history, evidence = inputs if inputs is not None else read_curve_inputs(ledger)
        return threshold_curve(history, evidence, config), (history, evidence)

    @on(Worker.StateChanged)
    def _curve_done(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "curve":
            return
        event.stop()
        plot = self.query_one(QualityPlot)
        if event.state == WorkerState.SUCCESS and event.worker.result is not None:
            curve, self._curve_inputs = event.worker.result
            plot.show_curve(curve, palette_of(self.app))
        elif event.state == WorkerState.ERROR:
            self._curve_key = None
            plot.say(f"Cost–quality curve failed: {event.worker.error}")


def _curve_key(config: Config) -> Config:
    """`config` with the threshold at 0: equal keys sweep to the same curve."""
    return with_changes(config, {"router.complexity_threshold": 0.0})


def _first(result: ValidationResult) -> str:
    descriptions = result.failure_descriptions
    return descriptions[0] if descriptions else "invalid value"
