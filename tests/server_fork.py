"""Live servers forked from a process that has already imported Relay.

A live server started as ``python -m app serve`` spends most of its start importing the app
(Litestar, scim2-models' pydantic models, Pillow…) and loading the share images' fonts:
about 2.5 s of CPU each, for each of the ~90 tests that serve Relay. So the suite starts one
process that imports all of it once (``python -m tests.server_fork``), and each live server
is a fork of it that sets its test's environment and runs the same `relay serve` command
(``app.cli.main``) as before, with granian or uvicorn as chosen by that environment.

Nothing in Relay reads the environment at import (the settings are read when the app is
built), and nothing started by the imports is a thread, so a fork is the process a fresh
interpreter would have been, minus the import time.

The protocol on the forking process's stdin/stdout, one JSON object a line: the suite sends
``{"env": {...}, "log": path}``; the process answers ``{"started": pid}``, and
``{"exited": pid, "code": code}`` when a server ends (code as Popen's: -N for signal N).
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO, Any

SERVE = ["serve", "--no-migrate", "--quiet"]


class ForkedProcess:
    """What the tests use of a ``subprocess.Popen``, for a server forked by the zygote."""

    def __init__(self, pid: int, exited: threading.Event, codes: dict[int, int]) -> None:
        self.pid = pid
        self._exited = exited
        self._codes = codes

    @property
    def returncode(self) -> int | None:
        return self._codes.get(self.pid) if self._exited.is_set() else None

    def poll(self) -> int | None:
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if not self._exited.wait(timeout):
            raise subprocess.TimeoutExpired(f"relay serve ({self.pid})", timeout or 0)
        return self._codes[self.pid]

    def send_signal(self, sig: int) -> None:
        if not self._exited.is_set():
            # Ended meanwhile: its exit is on its way.
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


class Zygote:
    """The suite's side: the forking process, and a thread reading what it says."""

    def __init__(self, root: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.server_fork"],
            cwd=root,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self._lock = threading.Lock()
        self._started: list[int] = []
        self._started_ready = threading.Condition()
        self._exited: dict[int, threading.Event] = {}
        self._codes: dict[int, int] = {}
        self._reader = threading.Thread(target=self._read, name="server-fork", daemon=True)
        self._reader.start()

    def _event(self, pid: int) -> threading.Event:
        with self._lock:
            return self._exited.setdefault(pid, threading.Event())

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            message = json.loads(line)
            if "started" in message:
                with self._lock:
                    # A new process may get the pid of one that ended before (pids wrap at
                    # pid_max, 32768 here, within a suite that starts Chromium hundreds of
                    # times): it starts with no exit of its own.
                    self._exited[message["started"]] = threading.Event()
                    self._codes.pop(message["started"], None)
                with self._started_ready:
                    self._started.append(message["started"])
                    self._started_ready.notify_all()
            else:
                self._codes[message["exited"]] = message["code"]
                self._event(message["exited"]).set()
        with self._started_ready:  # the zygote died: nobody waits forever
            self._started_ready.notify_all()

    def start(self, env: dict[str, str], log: Path) -> ForkedProcess:
        assert self.process.stdin is not None
        with self._started_ready:
            self.process.stdin.write(json.dumps({"env": env, "log": str(log)}) + "\n")
            self.process.stdin.flush()
            if not self._started_ready.wait_for(
                lambda: self._started or self.process.poll() is not None, timeout=120
            ):
                raise RuntimeError("the server zygote did not fork")
            if not self._started:
                raise RuntimeError(f"the server zygote exited ({self.process.returncode})")
            pid = self._started.pop(0)
        return ForkedProcess(pid, self._event(pid), self._codes)

    def close(self) -> None:
        if self.process.stdin:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


# --- The forking process ---------------------------------------------------------------------


def _serve(request: dict[str, Any]) -> None:
    """In the fork: become `relay serve` with this test's environment; never returns."""
    code = 1
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.environ.clear()
        os.environ.update(request["env"])
        from app.cli import main

        code = main(SERVE)
    except SystemExit as exit:
        code = exit.code if isinstance(exit.code, int) else 1
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _say(out: IO[str], message: dict[str, int]) -> None:
    out.write(json.dumps(message) + "\n")
    out.flush()


def zygote() -> None:
    # What `relay serve` and its web process import, loaded once for every fork.
    import granian.server  # noqa: F401
    import uvicorn  # noqa: F401

    import app.cli
    import app.main  # noqa: F401
    from app.sharing import images

    images.warm_up()

    out = sys.stdout
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_write, False)
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    selector = selectors.DefaultSelector()
    selector.register(0, selectors.EVENT_READ, "request")
    pending = b""
    selector.register(wake_read, selectors.EVENT_READ, "child")
    while True:
        for key, _ in selector.select():
            if key.data == "child":
                os.read(wake_read, 512)
                while True:
                    try:
                        pid, status = os.waitpid(-1, os.WNOHANG)
                    except ChildProcessError:
                        break
                    if pid == 0:
                        break
                    _say(out, {"exited": pid, "code": os.waitstatus_to_exitcode(status)})
                continue
            chunk = os.read(0, 65536)
            if not chunk:  # the suite ended
                return
            pending += chunk
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                request = json.loads(line)
                out.flush()
                pid = os.fork()
                if pid == 0:
                    selector.close()
                    os.close(wake_read)
                    os.close(wake_write)
                    signal.set_wakeup_fd(-1)
                    _serve(request)
                _say(out, {"started": pid})


if __name__ == "__main__":
    zygote()
