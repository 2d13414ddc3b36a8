"""The engine's child process: it holds the llama-cpp-python `Llama` object and nothing else.

It talks to its supervisor (engines/local.py) over two one-way pipes: commands in, events out.
One request runs at a time; between two tokens it looks for a `Cancel` so a cancelled answer stops
within one token and the process stays ready. When the command pipe reaches EOF (the console died),
it exits.
"""

from __future__ import annotations

import codecs
import signal
import time
from collections import deque
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from engines.base import Message
from engines.prompt_format import Prompt, dialogue_prompt, template_prompt


@dataclass(frozen=True)
class WorkerParams:
    """How to load the model."""

    model_path: str
    n_threads: int
    n_ctx: int
    n_batch: int


@dataclass(frozen=True)
class Generate:
    """Command: answer a conversation."""

    req_id: int
    messages: tuple[Message, ...]
    max_tokens: int
    temperature: float
    repeat_penalty: float
    stop: tuple[str, ...]


@dataclass(frozen=True)
class Cancel:
    """Command: stop the request `req_id` if it is still running."""

    req_id: int


@dataclass(frozen=True)
class Shutdown:
    """Command: exit."""


@dataclass(frozen=True)
class Loaded:
    """Event: the model is loaded and the worker waits for commands."""

    has_chat_template: bool


@dataclass(frozen=True)
class LoadFailed:
    """Event: llama.cpp refused the model; the worker exits."""

    message: str


@dataclass(frozen=True)
class Text:
    """Event: the next piece of an answer."""

    req_id: int
    text: str


@dataclass(frozen=True)
class Done:
    """Event: an answer ended (finish_reason "stop", "length" or "cancelled")."""

    req_id: int
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str
    prompt_eval_tokens: int
    prompt_s: float
    gen_s: float


@dataclass(frozen=True)
class Failed:
    """Event: a request could not be answered (prompt too long, template error)."""

    req_id: int
    message: str


Command = Generate | Cancel | Shutdown
Event = Loaded | LoadFailed | Text | Done | Failed


class _Worker:
    def __init__(self, llm: Any, commands: Connection, events: Connection) -> None:
        self.llm = llm
        self.commands = commands
        self.events = events
        self.pending: deque[Command] = deque()
        template = llm.metadata.get("tokenizer.chat_template")
        self.template: str | None = template if template and template.strip() else None
        self.shutdown = False

    def prompt(self, messages: tuple[Message, ...]) -> Prompt:
        if self.template is None:
            return dialogue_prompt(messages)
        model = self.llm._model
        bos = model.token_get_text(model.token_bos()) if model.token_bos() >= 0 else ""
        eos = model.token_get_text(model.token_eos()) if model.token_eos() >= 0 else ""
        return template_prompt(self.template, messages, bos, eos)

    def cancelled(self, req_id: int) -> bool:
        """True on a Cancel for `req_id` or a Shutdown; other commands wait their turn."""
        while self.commands.poll():
            command = self.commands.recv()
            if isinstance(command, Shutdown):
                self.shutdown = True
                return True
            if isinstance(command, Cancel):
                if command.req_id == req_id:
                    return True
                continue
            self.pending.append(command)
        return False

    def run(self) -> None:
        while not self.shutdown:
            command = self.pending.popleft() if self.pending else self.commands.recv()
            if isinstance(command, Shutdown):
                return
            if isinstance(command, Generate):
                try:
                    self.generate(command)
                except Exception as exc:  # one failed request must not take the worker down
                    self.events.send(Failed(command.req_id, str(exc) or type(exc).__name__))

    def generate(self, command: Generate) -> None:
        import llama_cpp

        llm = self.llm
        prompt = self.prompt(command.messages)
        tokens = llm.tokenize(prompt.text.encode("utf-8"), add_bos=prompt.add_bos, special=True)
        room = llm.n_ctx() - len(tokens)
        if room < 1:
            raise ValueError(
                f"the prompt has {len(tokens)} tokens; the context holds {llm.n_ctx()}"
            )
        cached = 0
        for old, new in zip(llm._input_ids[: llm.n_tokens], tokens, strict=False):
            if old != new:
                break
            cached += 1
        stops = tuple(dict.fromkeys(prompt.stop + command.stop))
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        vocab = llm._model.vocab
        pending = ""
        emitted_any = False
        produced = 0
        finish = "length"
        stopped_by_sequence = False
        started = time.perf_counter()
        first = last = started

        def emit(text: str) -> None:
            nonlocal emitted_any
            if not emitted_any:
                # The dialogue format leaves the space after "Assistant:" to the model.
                text = text.lstrip()
            if text:
                emitted_any = True
                self.events.send(Text(command.req_id, text))

        for token in llm.generate(
            tokens,
            temp=command.temperature,
            repeat_penalty=command.repeat_penalty,
            top_k=40,
            top_p=0.95,
            min_p=0.05,
        ):
            last = time.perf_counter()
            if produced == 0:
                first = last
            if llama_cpp.llama_vocab_is_eog(vocab, token):
                finish = "stop"
                break
            produced += 1
            pending += decoder.decode(llm._model.detokenize([token]))
            hit = min((i for i in (pending.find(s) for s in stops) if i >= 0), default=-1)
            if hit >= 0:
                emit(pending[:hit])
                stopped_by_sequence = True
                finish = "stop"
                break
            hold = max(
                (n for s in stops for n in range(len(s) - 1, 0, -1) if pending.endswith(s[:n])),
                default=0,
            )
            emit(pending[: len(pending) - hold])
            pending = pending[len(pending) - hold :]
            if produced >= min(command.max_tokens, room):
                break
            if self.cancelled(command.req_id):
                finish = "cancelled"
                break
        if not stopped_by_sequence:
            emit(pending + decoder.decode(b"", final=True))
        self.events.send(
            Done(
                req_id=command.req_id,
                prompt_tokens=len(tokens),
                completion_tokens=produced,
                finish_reason=finish,
                prompt_eval_tokens=max(1, len(tokens) - cached),
                prompt_s=first - started,
                gen_s=last - first,
            )
        )


_GGML_LOG_ERROR = 3
_log_tail: deque[str] = deque(maxlen=4)
#: The C log callback; a module global so it outlives the model freed at interpreter exit.
_log_callback: Any = None


def quiet_llama_logs() -> None:
    """Keep llama.cpp's log off the console's terminal; remember its last errors for LoadFailed."""
    global _log_callback
    import llama_cpp

    @llama_cpp.llama_log_callback  # type: ignore[untyped-decorator]
    def callback(level: int, text: bytes, user_data: Any) -> None:
        if level == _GGML_LOG_ERROR:
            _log_tail.append(text.decode("utf-8", errors="replace").strip())

    _log_callback = callback
    llama_cpp.llama_log_set(callback, None)


#: The engine's threads as the CPU panel shows them (Linux keeps 15 characters).
THREAD_NAME = "llama-engine"


def name_thread(name: str) -> None:
    """Name the calling thread; llama.cpp's compute threads, started later, inherit the name.

    Without it every thread of the worker reads "python3" in /proc, which tells an operator
    nothing. Best effort: where /proc/thread-self is missing the name stays as it was.
    """
    try:
        with open("/proc/thread-self/comm", "w") as comm:
            comm.write(name[:15])
    except OSError:
        pass


def main(params: WorkerParams, commands: Connection, events: Connection) -> None:
    """Entry point of the child process: load the model, then serve commands until told to stop."""
    # Ctrl-C in the terminal reaches the whole process group; cancelling is the supervisor's job.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    name_thread(THREAD_NAME)
    try:
        import llama_cpp

        quiet_llama_logs()
        llm = llama_cpp.Llama(
            model_path=params.model_path,
            n_threads=params.n_threads,
            n_threads_batch=params.n_threads,
            n_ctx=params.n_ctx,
            n_batch=params.n_batch,
            verbose=False,
        )
    except Exception as exc:  # llama-cpp-python reports a bad file as ValueError or RuntimeError
        detail = "; ".join(line for line in _log_tail if line) or str(exc) or type(exc).__name__
        events.send(LoadFailed(detail))
        return
    events.send(Loaded(has_chat_template=bool(llm.metadata.get("tokenizer.chat_template"))))
    try:
        _Worker(llm, commands, events).run()
    except (EOFError, BrokenPipeError, KeyboardInterrupt):
        return
