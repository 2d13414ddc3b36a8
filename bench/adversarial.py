"""Adversarial suite: the classes of issue 9's findings, replayed with new variants.

Run: python bench/adversarial.py [--only CLASS ...]
Everything is real: a hostile OpenAI-compatible server on 127.0.0.1 (an ephemeral port) owned
by this script, `switchboard` run as a subprocess, answers printed into a real tmux pane (a
private tmux server whose raw output is recorded with pipe-pane), the console run in tmux,
real signals to real processes, a real lock held on the ledger by a second process.

Classes: terminal (escape sequences in answers), markup (stored prompts on the TUI screens),
key (API key leaks), ledger (rows lost to a lock or a signal), hang (a stopped engine, a FIFO
config, an invalid proxy), traceback (bad input). Each check prints one row: class, variant,
ok or FINDING, detail. Every process started here is stopped by its pid at the end, and every
wait has a deadline. Last line: `findings N` (target 0).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import re
import shlex
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SECRET = "sk-adv3rsarialKEY"
TITLE = "switchboard-bench-title"

#: Hostile answers, one per variant: every one is wrapped in visible markers so the pane shows
#: whether the text around the sequence survived.
TERMINAL_VARIANTS: dict[str, str] = {
    # The control: no sequence at all. A FINDING here means the harness, not the console, is off.
    "control_plain_text": "plain",
    "csi_clear_home": "\x1b[2J\x1b[H\x1b[3J",
    "csi_cursor_rewrite": "\x1b[1A\x1b[2K\x1b[999D overwritten",
    "osc2_title_st": "\x1b]2;pwned-title\x1b\\\x1b]0;pwned-title2\x07",
    "osc52_clipboard_st": "\x1b]52;c;" + base64.b64encode(b"rm -rf ~").decode() + "\x1b\\",
    "osc8_hyperlink": "\x1b]8;;https://evil.example/\x1b\\click here\x1b]8;;\x1b\\",
    "dcs_tmux_passthrough": "\x1bPtmux;\x1b\x1b]52;c;cHduZWQ=\x07\x1b\\",
    "c1_8bit_csi_osc": "\x9b2J\x9d2;c1-title\x9c\x9b31m",
    "split_across_chunks": "\x1b]5",  # continued by the next chunk, see SPLIT_TAIL
}
SPLIT_TAIL = "2;c;" + base64.b64encode(b"split").decode() + "\x07"

#: Prompts stored in the ledger and rendered by the console's screens.
MARKUP_PROMPT = "[@click=app.quit]quit-link[/] [/] [bold red]loud[/] [link=https://x]l[/link]"

ROWS: list[tuple[str, str, bool, str]] = []


def row(cls: str, variant: str, ok: bool, detail: str) -> None:
    """Record and print one check's outcome."""
    ROWS.append((cls, variant, ok, detail))
    detail = " ".join(detail.split())[:110]
    print(f"{cls:<10} {variant:<26} {'ok' if ok else 'FINDING':<8} {detail}", flush=True)


# -- the hostile server ---------------------------------------------------------------------


@dataclass
class Hostile:
    """What the loopback server answers, chosen by a `variant=NAME` word in the prompt."""

    answers: dict[str, list[str]] = field(default_factory=dict)
    slow: set[str] = field(default_factory=set)
    first_chunk: dict[str, threading.Event] = field(default_factory=dict)
    authorizations: list[str] = field(default_factory=list)
    echo_key: set[str] = field(default_factory=set)


def make_server(hostile: Hostile) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            body = json.dumps({"object": "list", "data": [{"id": "hostile-model"}]}).encode()
            self._send(200, body, "application/json")

        def _send(self, status: int, body: bytes, kind: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            request = json.loads(self.rfile.read(length) or b"{}")
            auth = self.headers.get("Authorization", "")
            hostile.authorizations.append(auth)
            prompt = str(request.get("messages", [{}])[-1].get("content", ""))
            match = re.search(r"variant=(\w+)", prompt)
            variant = match.group(1) if match else "plain"
            if variant in hostile.echo_key:
                message = f"invalid key {auth} for this org; header was: Authorization: {auth}"
                body = json.dumps({"error": {"message": message}}).encode()
                self._send(500, body, "application/json")
                return
            pieces = hostile.answers.get(variant, ["a plain answer"])
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Connection", "close")
            self.end_headers()
            try:
                for index, piece in enumerate(pieces):
                    chunk = {"choices": [{"delta": {"content": piece}, "finish_reason": None}]}
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                    self.wfile.flush()
                    if index == 0 and variant in hostile.first_chunk:
                        hostile.first_chunk[variant].set()
                    if variant in hostile.slow:
                        time.sleep(0.2)
                done = {"choices": [{"delta": {}, "finish_reason": "stop"}]}
                self.wfile.write(f"data: {json.dumps(done)}\n\ndata: [DONE]\n\n".encode())
                self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                pass
            self.close_connection = True

    return ThreadingHTTPServer(("127.0.0.1", 0), Handler)


# -- processes ------------------------------------------------------------------------------


class Procs:
    """Every process this script starts, so each is stopped by its pid at the end."""

    def __init__(self) -> None:
        self.started: list[subprocess.Popen[bytes]] = []

    def popen(self, args: list[str], **kwargs: object) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(args, **kwargs)  # type: ignore[call-overload]
        self.started.append(process)
        return process  # type: ignore[no-any-return]

    def stop_all(self) -> None:
        for process in self.started:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, signal.SIGKILL)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(5)


@dataclass
class Bench:
    work: Path
    base_url: str
    hostile: Hostile
    procs: Procs
    env: dict[str, str]

    def config(self, name: str, extra: str = "") -> Path:
        """A config.toml pointing the cloud tier at the hostile server."""
        path = self.work / f"{name}.toml"
        path.write_text(
            f'[cloud]\nbase_url = "{self.base_url}"\nmodel = "hostile-model"\nproxy = "none"\n'
            f"max_retries = 0\nfirst_byte_timeout = 10.0\n\n"
            f'[ledger]\nstore_prompts = "full"\n\n'
            f"[local]\nn_threads = 1\nstall_timeout_s = 3.0\n\n"
            # Priced, so its requests have a cost and show among the ledger's top prompts.
            f'[prices."hostile-model"]\ninput_per_mtok = 100.0\noutput_per_mtok = 100.0\n\n{extra}',
            encoding="utf-8",
        )
        return path

    def command(self, *args: str, config: Path | None = None, db: Path | None = None) -> list[str]:
        """The `switchboard` command line, run from this checkout."""
        head = [sys.executable, "-c", "from console.cli import main; main()"]
        if config is not None:
            head += ["--config", str(config)]
        if db is not None:
            head += ["--db", str(db)]
        return [*head, *args]

    def run(
        self,
        args: list[str],
        *,
        timeout: float = 120.0,
        stdin: bytes | None = None,
        env: dict[str, str] | None = None,
    ) -> tuple[int | None, str, str, float]:
        """Run to the end within `timeout` (killed by pid after it): code, out, err, seconds."""
        started = time.monotonic()
        process = self.procs.popen(
            args,
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env or self.env,
            cwd=self.work,
        )
        try:
            out, err = process.communicate(stdin, timeout=timeout)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            out, err = process.communicate()
            return None, out.decode(errors="replace"), err.decode(errors="replace"), timeout
        return (
            process.returncode,
            out.decode(errors="replace"),
            err.decode(errors="replace"),
            time.monotonic() - started,
        )


# -- tmux -----------------------------------------------------------------------------------


class Tmux:
    """A private tmux server (its own socket) with one session."""

    def __init__(self, work: Path, env: dict[str, str]) -> None:
        self.socket = f"sb-adversarial-{os.getpid()}"
        self.work = work
        self.env = env
        self.log = work / "pane.raw"

    def __call__(self, *args: str) -> str:
        result = subprocess.run(
            ["tmux", "-L", self.socket, *args],
            capture_output=True,
            text=True,
            timeout=20,
            env=self.env,
        )
        return result.stdout

    def start(self) -> None:
        self(
            "-f",
            "/dev/null",
            "new-session",
            "-d",
            "-s",
            "adv",
            "-x",
            "150",
            "-y",
            "45",
            "-c",
            str(self.work),
            "bash --norc --noprofile",
        )
        # Applications may set the clipboard and the title: the most exposed setting.
        self("set", "-g", "set-clipboard", "on")
        self("set", "-g", "allow-rename", "on")
        self("select-pane", "-t", "adv", "-T", TITLE)
        self("pipe-pane", "-t", "adv", "-o", f"cat >> {shlex.quote(str(self.log))}")

    def stop(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError):
            self("kill-server")

    def screen(self) -> str:
        return self("capture-pane", "-p", "-t", "adv")

    def title(self) -> str:
        return self("display", "-p", "-t", "adv", "#{pane_title}").strip()

    def buffers(self) -> int:
        return len([line for line in self("list-buffers").splitlines() if line.strip()])

    def type(self, line: str) -> None:
        self("send-keys", "-t", "adv", "-l", line)
        self("send-keys", "-t", "adv", "Enter")

    def keys(self, *keys: str) -> None:
        self("send-keys", "-t", "adv", *keys)

    def wait_for(self, text: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.screen():
                return True
            time.sleep(0.2)
        return False

    def raw(self) -> bytes:
        return self.log.read_bytes() if self.log.exists() else b""


#: Terminal controls in raw output: ESC, and the C1 controls as UTF-8 (C2 80..C2 9F) or bytes.
_CONTROL_BYTES = re.compile(rb"\x1b|\xc2[\x80-\x9f]|\x07")


# -- the checks -----------------------------------------------------------------------------


def check_terminal(bench: Bench, tmux: Tmux) -> None:
    config = bench.config("terminal")
    db = bench.work / "terminal.db"
    for number, (variant, sequence) in enumerate(TERMINAL_VARIANTS.items()):
        pieces = [f"BEFORE{number} ", sequence, f" AFTER{number}"]
        if variant == "split_across_chunks":
            pieces = [f"BEFORE{number} ", sequence, SPLIT_TAIL, f" AFTER{number}"]
        bench.hostile.answers[variant] = pieces
        buffers, raw_from = tmux.buffers(), len(tmux.raw())
        tmux.type("clear")
        time.sleep(0.3)
        command = ["env", *(f"{k}={v}" for k, v in bench.env.items() if k == "PYTHONPATH")]
        command += bench.command("ask", "--cloud", f"variant={variant} hello", config=config, db=db)
        # The markers are typed split so the echoed command line does not contain them.
        tmux.type(f"echo MARK{number}''X; {shlex.join(command)}; echo END{number}''X")
        finished = tmux.wait_for(f"END{number}X", 90)
        time.sleep(0.3)
        screen, raw = tmux.screen(), tmux.raw()[raw_from:]
        start = raw.find(f"MARK{number}X".encode())
        end = raw.find(f"END{number}X".encode(), max(start, 0))
        between = raw[start:end] if start >= 0 and end > start else raw
        problems = []
        if not finished:
            problems.append("ask did not finish within 90 s")
        if _CONTROL_BYTES.search(between):
            found = sorted({m.group() for m in _CONTROL_BYTES.finditer(between)})
            problems.append(f"raw control bytes reached the terminal: {found}")
        if tmux.title() != TITLE:
            problems.append(f"pane title changed to {tmux.title()!r}")
        if tmux.buffers() != buffers:
            problems.append("a tmux paste buffer appeared (clipboard written)")
        if f"MARK{number}X" not in screen:
            problems.append("the screen was cleared or rewritten")
        if f"BEFORE{number}" not in screen or f"AFTER{number}" not in screen:
            problems.append("the answer's text around the sequence is not on screen")
        row("terminal", variant, not problems, "; ".join(problems) or "pane unchanged, text kept")
        if tmux.title() != TITLE:
            tmux("select-pane", "-t", "adv", "-T", TITLE)


#: The stored prompt's visible text, whole or cut short by a table column.
_SHOWN = re.compile(r"quit(-li|…)")


def check_markup(bench: Bench, tmux: Tmux) -> None:
    config = bench.config("markup")
    db = bench.work / "markup.db"
    code, _, err, _ = bench.run(
        bench.command("ask", "--cloud", f"{MARKUP_PROMPT} variant=plain", config=config, db=db)
    )
    if code != 0:
        row("markup", "prepare ledger", False, f"ask exited {code}: {err.strip()[-100:]}")
        return
    env = ["env", f"PYTHONPATH={bench.env['PYTHONPATH']}"]
    # One console per screen, so that a crash on one does not hide what the next one does.
    screens = (
        (("f6",), "ledger screen (f6)"),
        # The ledger's prompts, replayed: ctrl+r asks before spending, enter confirms.
        (("f4", "C-l", "C-r", "Enter"), "replay screen (f4, load, run)"),
    )
    for number, (keys, variant) in enumerate(screens):
        gone = f"GONE{number}X"
        tmux.type("clear")
        launch = shlex.join([*env, *bench.command(config=config, db=db)])
        tmux.type(f"{launch}; echo GONE{number}''X")
        # The screens that read the ledger open once the core is built (the status names it).
        if not (tmux.wait_for("Ask anything", 60) and tmux.wait_for("hostile-model @", 60)):
            row("markup", variant, False, "the console did not start within 60 s")
            tmux.keys("C-q")
            tmux.wait_for(gone, 20)
            continue
        for key in keys:
            tmux.keys(key)
            time.sleep(1.0)
        deadline = time.monotonic() + 15
        screen = tmux.screen()
        while time.monotonic() < deadline and gone not in screen:
            # A crash takes a moment to end the app (it stops the engines first); a screen that
            # opened is given a few seconds to show it did not crash late.
            time.sleep(0.5)
            screen = tmux.screen()
            if _SHOWN.search(screen) and time.monotonic() > deadline - 10:
                break
        problems = []
        if gone in screen:
            problems.append("the console exited (markup executed or crashed)")
        elif "[@click" not in screen and _SHOWN.search(screen):
            problems.append("the stored prompt was rendered as markup")
        elif "[@click" not in screen:
            problems.append("the stored prompt is not shown")
        row("markup", variant, not problems, "; ".join(problems) or "shown literally")
        if gone not in screen:
            tmux.keys("Escape")
            time.sleep(0.5)
            tmux.keys("C-q")
            if not tmux.wait_for(gone, 20):
                row("markup", f"quit after {keys[0]}", False, "ctrl+q did not end it within 20 s")


def check_keys(bench: Bench) -> None:
    config = bench.config("keys", extra="")
    remote = bench.work / "keys-remote.toml"
    # A non-local endpoint name: a key is required there, and it must never be sent malformed.
    remote.write_text(
        '[cloud]\nbase_url = "https://api.example.invalid/v1"\nproxy = "none"\n', "utf-8"
    )
    db = bench.work / "keys.db"
    for variant, key in (
        ("key_with_cr_lf", f"{SECRET}\r\n{SECRET}"),
        ("key_with_nbsp", f"{SECRET}\u00a0"),
        ("key_with_emoji", f"{SECRET}\U0001f511"),
    ):
        env = {**bench.env, "OPENAI_API_KEY": key}
        texts = []
        for args in (("ask", "--cloud", "hello"), ("doctor", "--json")):
            code, out, err, _ = bench.run(bench.command(*args, config=remote, db=db), env=env)
            texts.append((args[0], code, out + err))
        problems = [f"{name} printed the key" for name, _, text in texts if SECRET in text]
        problems += [f"{name}: traceback" for name, _, text in texts if "Traceback" in text]
        if not any("OPENAI_API_KEY" in text for _, _, text in texts):
            problems.append("no message names $OPENAI_API_KEY")
        row("key", variant, not problems, "; ".join(problems) or "named the variable, not the key")
    # A server that quotes the Authorization header back in its error body.
    bench.hostile.echo_key.add("echo")
    env = {**bench.env, "OPENAI_API_KEY": SECRET}
    code, out, err, _ = bench.run(
        bench.command("ask", "--cloud", "variant=echo hello", config=config, db=db), env=env
    )
    leaked = SECRET in out + err or _ledger_contains(db, SECRET)
    row(
        "key",
        "error_body_echoes_key",
        not leaked,
        "the key was printed or stored" if leaked else f"scrubbed (exit {code})",
    )


def _ledger_contains(db: Path, text: str) -> bool:
    if not db.exists():
        return False
    with contextlib.closing(sqlite3.connect(db)) as connection:
        for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type='table'"):
            for values in connection.execute(f'SELECT * FROM "{name}"'):
                if any(isinstance(value, str) and text in value for value in values):
                    return True
    return False


def _rows(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with contextlib.closing(sqlite3.connect(db, timeout=10)) as connection:
            return int(connection.execute("SELECT count(*) FROM requests").fetchone()[0])
    except sqlite3.Error:
        return -1


def check_ledger(bench: Bench) -> None:
    config = bench.config("ledger")
    db = bench.work / "ledger.db"
    follow_up = bench.command("ask", "--cloud", "variant=plain follow-up", config=config, db=db)
    bench.run(follow_up)  # creates the ledger
    # 1. A write lock held by a second process for the whole request.
    before = _rows(db)
    holder = bench.procs.popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys, time\n"
            f"c = sqlite3.connect({str(db)!r}, isolation_level=None)\n"
            "c.execute('BEGIN EXCLUSIVE'); print('locked', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
    )
    assert holder.stdout is not None
    holder.stdout.readline()
    code, _, _, _ = bench.run(
        bench.command("ask", "--cloud", "variant=plain locked", config=config, db=db)
    )
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait(10)
    bench.run(follow_up)  # the next writer replays whatever was kept aside
    after = _rows(db)
    row(
        "ledger",
        "write_lock_held_by_other",
        after == before + 2,
        f"rows {before} -> {after} after the locked ask (exit {code}) and one more",
    )
    # 2. Signals during a streamed answer.
    bench.hostile.answers["slow"] = [f" token{i}" for i in range(60)]
    bench.hostile.slow.add("slow")
    for name, sig in (
        ("SIGTERM", signal.SIGTERM),
        ("SIGHUP", signal.SIGHUP),
        ("SIGKILL", signal.SIGKILL),
    ):
        before = _rows(db)
        event = threading.Event()
        bench.hostile.first_chunk["slow"] = event
        process = bench.procs.popen(
            bench.command("ask", "--cloud", "variant=slow count", config=config, db=db),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=bench.env,
            cwd=bench.work,
        )
        if not event.wait(90):
            os.kill(process.pid, signal.SIGKILL)
            process.wait(10)
            row("ledger", f"{name}_mid_stream", False, "the answer never started streaming")
            continue
        time.sleep(0.5)
        os.kill(process.pid, sig)
        try:
            process.wait(20)
            exited = f"exit {process.returncode}"
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(10)
            exited = "did not exit within 20 s"
        bench.run(follow_up)
        after = _rows(db)
        ok = after == before + 2 and "did not" not in exited
        row(
            "ledger",
            f"{name}_mid_stream",
            ok,
            f"rows {before} -> {after} ({exited}; then one more ask)",
        )


def _worker_of(pid: int) -> int | None:
    """The llama.cpp worker started by process `pid` (a multiprocessing spawn child)."""
    try:
        children = subprocess.run(
            ["ps", "-o", "pid=,args=", "--ppid", str(pid)],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout
    except subprocess.SubprocessError:
        return None
    for line in children.splitlines():
        child, _, args = line.strip().partition(" ")
        if "spawn_main" in args:
            return int(child)
    return None


def check_hangs(bench: Bench, tmux: Tmux) -> None:
    # 1. The local engine's worker stopped (SIGSTOP) in the middle of an answer.
    config = bench.config("hang")
    db = bench.work / "hang.db"
    process = bench.procs.popen(
        bench.command(
            "ask",
            "--local",
            "--max-tokens",
            "200",
            "Count from one to one hundred: one, two, three,",
            config=config,
            db=db,
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=bench.env,
        cwd=bench.work,
    )
    worker = None
    deadline = time.monotonic() + 120
    while worker is None and time.monotonic() < deadline and process.poll() is None:
        worker = _worker_of(process.pid)
        time.sleep(0.2)
    if worker is None:
        os.kill(process.pid, signal.SIGKILL)
        row("hang", "sigstop_local_worker", False, "no worker process appeared")
    else:
        assert process.stdout is not None
        os.set_blocking(process.stdout.fileno(), False)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            with contextlib.suppress(BlockingIOError, TypeError):
                if process.stdout.read(1):
                    break
            time.sleep(0.05)
        os.kill(worker, signal.SIGSTOP)
        stopped = time.monotonic()
        try:
            process.wait(60)
            waited = time.monotonic() - stopped
            assert process.stderr is not None
            said = process.stderr.read().decode(errors="replace").strip().splitlines()
            detail = (
                f"ask ended {waited:.1f} s after the stop (exit {process.returncode}):"
                f" {said[-1] if said else ''}"
            )
            ok = True
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            detail, ok = "ask still waiting 60 s after the worker was stopped", False
        with contextlib.suppress(ProcessLookupError):
            os.kill(worker, signal.SIGKILL)
        row("hang", "sigstop_local_worker", ok, detail)
    # 2. A FIFO as config file: nobody will ever write to it.
    fifo = bench.work / "config.fifo"
    os.mkfifo(fifo)
    code, _, err, seconds = bench.run(bench.command("route", "hi", config=fifo), timeout=20)
    row("hang", "fifo_config", code == 2, f"exit {code} in {seconds:.1f} s: {err.strip()[:80]}")
    # 3. An invalid proxy: `ask` refuses at once; the console shows a failed cloud, not
    #    "starting" forever.
    bad = (
        bench.config("badproxy")
        .read_text("utf-8")
        .replace('proxy = "none"', 'proxy = "gopher://x"')
    )
    bad_path = bench.work / "badproxy.toml"
    bad_path.write_text(bad, "utf-8")
    code, _, err, seconds = bench.run(
        bench.command("ask", "hi", config=bad_path, db=db), timeout=60
    )
    row(
        "hang",
        "invalid_proxy_ask",
        code == 2 and seconds < 60,
        f"exit {code} in {seconds:.1f} s: {err.strip()[:80]}",
    )
    env = ["env", f"PYTHONPATH={bench.env['PYTHONPATH']}"]
    tmux.type("clear")
    tmux.type(shlex.join([*env, *bench.command(config=bad_path, db=db)]) + "; echo TUI''GONE")
    deadline = time.monotonic() + 60
    screen = ""
    while time.monotonic() < deadline:
        screen = tmux.screen()
        status = screen.splitlines()[0] if screen.strip() else ""
        if "Ask anything" in screen and "starting" not in status:
            break
        time.sleep(0.5)
    status = screen.splitlines()[0] if screen.strip() else ""
    ok = "Ask anything" in screen and "starting" not in status
    row("hang", "invalid_proxy_console", ok, f"status line after start: {status.strip()[:90]!r}")
    tmux.keys("C-q")
    tmux.wait_for("TUIGONE", 20)


def check_tracebacks(bench: Bench) -> None:
    config = bench.config("tb")
    db = bench.work / "tb.db"
    bad_utf8 = bench.work / "bad.jsonl"
    bad_utf8.write_bytes(b'{"prompt": "caf\xe9 \xff"}\n{"prompt": "fine"}\n')
    bom = bench.work / "bom.toml"
    bom.write_bytes(b"\xef\xbb\xbf" + config.read_bytes())
    inf = bench.work / "inf.toml"
    inf.write_text(config.read_text("utf-8") + "\n[budget]\nmonthly_usd = -inf\n", "utf-8")
    huge = json.dumps({"text": "The quick brown fox. " * 50_000}) + "\n"
    cases: list[tuple[str, list[str], bytes | None, Callable[[int | None], bool]]] = [
        (
            "replay_invalid_utf8",
            bench.command("replay", str(bad_utf8), config=config, db=db),
            None,
            lambda code: code in (1, 2),
        ),
        (
            "config_dev_zero",
            bench.command("route", "hi", config=Path("/dev/zero")),
            None,
            lambda code: code == 2,
        ),
        (
            "config_bom_accepted",
            bench.command("route", "hi", config=bom),
            None,
            lambda code: code in (0, 2),
        ),
        (
            "config_minus_inf",
            bench.command("route", "hi", config=inf),
            None,
            lambda code: code == 2,
        ),
        (
            "pii_jsonl_lone_surrogate",
            bench.command("pii", "--jsonl", config=config),
            b'{"text": "Mail \\ud800 to bob@example.com"}\n',
            lambda code: code in (0, 1, 2),
        ),
        (
            "pii_jsonl_1mb_text",
            bench.command("pii", "--jsonl", config=config),
            huge.encode(),
            lambda code: code in (0, 1, 2),
        ),
        (
            "config_directory",
            bench.command("route", "hi", config=bench.work),
            None,
            lambda code: code == 2,
        ),
    ]
    for variant, args, stdin, good_code in cases:
        code, out, err, _ = bench.run(args, stdin=stdin, timeout=120)
        lines = [line for line in err.strip().splitlines() if line.strip()]
        problems = []
        if "Traceback" in out + err:
            problems.append("traceback")
        if code is None:
            problems.append("no exit within 120 s")
        elif not good_code(code):
            problems.append(f"exit {code}")
        # A directory is refused by click itself, as a usage error (Usage / Try / Error lines).
        usage_error = bool(lines) and lines[-1].startswith("Error: Invalid value")
        if code not in (0, None) and len(lines) != 1 and not usage_error:
            problems.append(f"{len(lines)} lines on stderr")
        detail = "; ".join(problems) or f"exit {code}: {(lines[-1] if lines else '')[:80]}"
        row("traceback", variant, not problems, detail)


CHECKS = ("terminal", "markup", "key", "ledger", "hang", "traceback")


@contextlib.contextmanager
def running_server(hostile: Hostile) -> Iterator[str]:
    server = make_server(hostile)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", choices=CHECKS, default=list(CHECKS))
    options = parser.parse_args()
    procs = Procs()
    hostile = Hostile()
    started = time.monotonic()
    with (
        tempfile.TemporaryDirectory(prefix="sb-adversarial-") as folder,
        running_server(hostile) as base_url,
    ):
        work = Path(folder)
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.endswith("_PROXY") and not key.endswith("_proxy") and key != "OPENAI_API_KEY"
        }
        # The spool and ledger defaults go to this run's own directory; the model cache stays.
        env |= {
            "PYTHONPATH": str(REPO),
            "XDG_STATE_HOME": str(work / "state"),
            "XDG_DATA_HOME": str(work / "data"),
            "TERM": "xterm-256color",
        }
        bench = Bench(work, base_url, hostile, procs, env)
        tmux = Tmux(work, env)
        print(f"{'class':<10} {'variant':<26} {'result':<8} detail")
        try:
            tmux.start()
            if "terminal" in options.only:
                check_terminal(bench, tmux)
            if "markup" in options.only:
                check_markup(bench, tmux)
            if "key" in options.only:
                check_keys(bench)
            if "ledger" in options.only:
                check_ledger(bench)
            if "hang" in options.only:
                check_hangs(bench, tmux)
            if "traceback" in options.only:
                check_tracebacks(bench)
        finally:
            tmux.stop()
            procs.stop_all()
    findings = sum(1 for *_, ok, _ in ROWS if not ok)
    print(f"{len(ROWS)} checks in {time.monotonic() - started:.0f} s; {findings} findings")
    print(f"findings {findings}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
