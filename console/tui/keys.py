"""Keys every screen shows first in its footer, so help and quit are never cut off at 80 columns.

Screen actions live on function keys, ctrl-combinations and the command palette only: a
printable key always means text for the prompt, never an action (nothing single-letter).
"""

from __future__ import annotations

from textual.binding import Binding, BindingType

#: Declared first by every screen: Textual's footer lists a screen's bindings before the app's.
ALWAYS_SHOWN: list[BindingType] = [
    Binding("f1", "app.help", "Help"),
    Binding("ctrl+q", "app.quit", "Quit"),
]

#: Actions the help screen lists once, under "Everywhere", not under every screen.
EVERYWHERE_ACTIONS = frozenset({"app.help", "app.quit"})
