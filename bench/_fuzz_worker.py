"""Vetting in child processes held to a memory limit (RLIMIT_AS) and a time limit per file.

:func:`serve` is the child: it reads one request line (a path and a kind) at a time, vets
the file with ``Vetter.assess_file`` as ``appwarden vet`` does, serialises the assessment
to JSON as ``--format json`` does, and answers one JSON line. A Python exception that is
not a :class:`VettingError` is answered with its traceback; a ``MemoryError`` ends the
child after answering. A child that stays silent past the time limit is killed (its stack
is dumped by :mod:`faulthandler` shortly before), and one that dies is noted; either way a
fresh child takes its place. :class:`Pool` runs several children, one file each.
"""

from __future__ import annotations

import faulthandler
import json
import os
import resource
import selectors
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

READY = b"ready\n"


def _where(err: BaseException) -> str:
    """The innermost frame of the project's code, or the innermost frame at all."""
    frames = traceback.extract_tb(err.__traceback__)
    ours = [f for f in frames if "/appwarden/" in f.filename]
    if not (ours or frames):
        return "?"
    frame = (ours or frames)[-1]
    path = frame.filename
    cut = path.rfind("/appwarden/")
    short = path[cut + 1 :] if cut >= 0 else Path(path).name
    return f"{short}:{frame.lineno} in {frame.name}"


def _vet(vetter: Any, error_type: type[Exception], path: Path) -> dict[str, Any]:
    try:
        vetter.assess_file(path).model_dump_json()
    except error_type as err:
        message = str(err)
        outcome = "error" if message and "\n" not in message else "bad_message"
        code = getattr(err, "code", "?")
        return {"outcome": outcome, "error": f"{type(err).__name__}/{code}", "message": message}
    except MemoryError as err:
        return {
            "outcome": "memory",
            "error": "MemoryError",
            "where": _where(err),
            "fatal": True,
            "traceback": traceback.format_exc(limit=-12),
        }
    except Exception as err:
        return {
            "outcome": "exception",
            "error": type(err).__name__,
            "message": str(err)[:300],
            "where": _where(err),
            "traceback": traceback.format_exc(limit=-12),
        }
    return {"outcome": "assessment"}


def serve(memory_mb: int, stack_file: Path, dump_after: float) -> None:
    """The child's loop (``fuzz_vet.py --worker``)."""
    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    answers: BinaryIO = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything a library prints goes to stderr, never into the answers
    from appwarden.vetting.assess import Vetter
    from appwarden.vetting.errors import VettingError

    vetter = Vetter()
    stack = stack_file.open("w")
    answers.write(READY)
    answers.flush()
    for line in sys.stdin.buffer:
        request = json.loads(line)
        stack.seek(0)
        stack.truncate()
        faulthandler.dump_traceback_later(dump_after, file=stack)
        started = time.perf_counter()
        result = _vet(vetter, VettingError, Path(request["path"]))
        faulthandler.cancel_dump_traceback_later()
        result["seconds"] = time.perf_counter() - started
        answers.write(json.dumps(result).encode() + b"\n")
        answers.flush()
        if result.get("fatal"):
            return


@dataclass
class Job:
    kind: str
    fixture: str
    mutation: Any
    data: bytes
    suffix: str


@dataclass
class _Child:
    number: int
    folder: Path
    process: subprocess.Popen[bytes] | None = None
    job: Job | None = None
    deadline: float = 0.0
    buffer: bytes = b""
    started: float = 0.0

    @property
    def stack_file(self) -> Path:
        return self.folder / "stack.txt"


@dataclass
class Pool:
    """``jobs`` children; :meth:`submit` blocks while all of them are busy."""

    script: Path
    folder: Path
    jobs: int
    timeout: float
    memory_mb: int
    on_result: Callable[[Job, dict[str, Any]], None]
    children: list[_Child] = field(default_factory=list)
    restarts: int = 0

    def __post_init__(self) -> None:
        self.selector = selectors.DefaultSelector()
        for number in range(self.jobs):
            child = _Child(number, self.folder / f"w{number}")
            child.folder.mkdir(parents=True, exist_ok=True)
            self.children.append(child)
            self._start(child)

    def _start(self, child: _Child) -> None:
        command = [
            sys.executable,
            str(self.script),
            "--worker",
            "--memory-mb",
            str(self.memory_mb),
            "--stack-file",
            str(child.stack_file),
            "--timeout",
            str(self.timeout),
        ]
        process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
        )
        assert process.stdout is not None
        ready = process.stdout.readline()
        if ready != READY:
            raise RuntimeError(f"the vetting child did not start (said {ready!r})")
        child.process, child.job, child.buffer = process, None, b""
        os.set_blocking(process.stdout.fileno(), False)
        self.selector.register(process.stdout, selectors.EVENT_READ, child)

    def _restart(self, child: _Child) -> None:
        process = child.process
        assert process is not None and process.stdout is not None
        self.selector.unregister(process.stdout)
        if process.poll() is None:
            process.kill()
        process.wait()
        process.stdout.close()
        if process.stdin is not None:
            process.stdin.close()
        self.restarts += 1
        self._start(child)

    def submit(self, job: Job) -> None:
        while (child := next((c for c in self.children if c.job is None), None)) is None:
            self._wait()
        path = child.folder / f"input{job.suffix}"
        path.write_bytes(job.data)
        assert child.process is not None and child.process.stdin is not None
        child.job, child.started = job, time.monotonic()
        child.deadline = child.started + self.timeout
        try:
            child.process.stdin.write(json.dumps({"path": str(path)}).encode() + b"\n")
            child.process.stdin.flush()
        except BrokenPipeError:
            self._finish(child, self._death(child))

    def drain(self) -> None:
        while any(c.job is not None for c in self.children):
            self._wait()

    def close(self) -> None:
        for child in self.children:
            if child.process is not None and child.process.stdin is not None:
                child.process.stdin.close()
                child.process.wait(timeout=30)

    def _wait(self) -> None:
        busy = [c for c in self.children if c.job is not None]
        now = time.monotonic()
        for event, _mask in self.selector.select(max(0.0, min(c.deadline for c in busy) - now)):
            self._read(event.data)
        now = time.monotonic()
        for child in busy:
            if child.job is not None and now >= child.deadline:
                stack = _read_stack(child.stack_file)
                self._finish(
                    child,
                    {
                        "outcome": "hang",
                        "error": "Timeout",
                        "seconds": now - child.started,
                        "where": _innermost(stack),
                        "traceback": stack,
                    },
                    restart=True,
                )

    def _read(self, child: _Child) -> None:
        assert child.process is not None and child.process.stdout is not None
        try:
            chunk = os.read(child.process.stdout.fileno(), 65536)
        except BlockingIOError:
            return
        if not chunk:
            self._finish(child, self._death(child), restart=True)
            return
        child.buffer += chunk
        if b"\n" in child.buffer:
            line, child.buffer = child.buffer.split(b"\n", 1)
            result = json.loads(line)
            self._finish(child, result, restart=bool(result.get("fatal")))

    def _death(self, child: _Child) -> dict[str, Any]:
        assert child.process is not None
        code = child.process.wait()
        return {
            "outcome": "died",
            "error": f"exit {code}",
            "where": "?",
            "seconds": time.monotonic() - child.started,
        }

    def _finish(self, child: _Child, result: dict[str, Any], *, restart: bool = False) -> None:
        job, child.job = child.job, None
        if restart:
            self._restart(child)
        if job is not None:
            self.on_result(job, result)


def _read_stack(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""


def _innermost(stack: str) -> str:
    """The first frame line of a faulthandler dump (the innermost call)."""
    for line in stack.splitlines():
        line = line.strip()
        if line.startswith("File "):
            return line.removeprefix("File ")
    return "?"
