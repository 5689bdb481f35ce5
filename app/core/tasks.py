"""Work in the background of a process: one way to start it, wake it and stop it.

A :class:`BackgroundTask` runs its :meth:`~BackgroundTask.round` in a loop on the event loop
of the process: again at once when a round says there is more to do, else after
``interval_s`` seconds (or only when woken, with None), or as soon as :meth:`wake` is called
(from any thread; a :class:`~app.core.outbox.Doorbell` named in ``doorbell`` calls it). A round
that raises is logged and the loop goes on: the next round tries again.

:meth:`stop` ends the loop gracefully: the round in progress finishes (cancelled only after
``stop_timeout_s``), then :meth:`finish` runs (write what is buffered, close connections).
A task is an async context manager, started on entry and stopped on exit: the app's lifespan
(:func:`app.main.create_app`) and ``relay worker`` enter theirs in order, so they stop in
reverse. A stopped task can be started again, in another event loop (tests start apps again).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from types import TracebackType
from typing import Self

from app.core.outbox import Doorbell


class BackgroundTask:
    """Subclasses say what a round does and, as class attributes, how the loop paces it."""

    # In the logs, and the asyncio task's name.
    description = "background task"
    log = logging.getLogger("relay")
    # Seconds between rounds when there is nothing more to do; None: only when woken.
    interval_s: float | None = 60.0
    # Wait before the first round (start-up stays quick; a restart loop does not run it in a loop).
    wait_first = False
    # How long stop() lets a round in progress finish before cancelling it; None: as long as it takes.
    stop_timeout_s: float | None = None
    # Rung in this process when there is work: wakes the task at once.
    doorbell: Doorbell | None = None

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._woken: asyncio.Event | None = None
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._stop_listening: Callable[[], None] | None = None

    async def round(self) -> bool | None:
        """One round of work; returns True when there is more to do at once."""
        raise NotImplementedError

    async def finish(self) -> None:
        """Runs once the loop has ended, before :meth:`stop` returns."""

    @property
    def stopping(self) -> bool:
        """Whether a stop was asked for (a long round may check it between its steps)."""
        return self._stopping

    def wake(self) -> None:
        """Run a round now rather than at the end of the interval; safe from any thread."""
        loop, woken = self._loop, self._woken
        if loop is None or woken is None:
            return
        try:
            here = asyncio.get_running_loop() is loop
        except RuntimeError:
            here = False
        if here:
            woken.set()
        else:
            loop.call_soon_threadsafe(woken.set)

    def request_stop(self) -> None:
        """Ask the loop to end after the round in progress (safe from a signal handler)."""
        self._stopping = True
        self.wake()

    async def start(self) -> None:
        # The event is made here: it belongs to the event loop the task runs in.
        self._loop = asyncio.get_running_loop()
        self._woken = asyncio.Event()
        self._stopping = False
        if self.doorbell is not None:
            self._stop_listening = self.doorbell.listen(self.wake)
        self._task = asyncio.create_task(self._run(), name=self.description)

    async def stop(self) -> None:
        """Let the round in progress finish (within ``stop_timeout_s``), then :meth:`finish`."""
        if self._stop_listening is not None:
            self._stop_listening()
            self._stop_listening = None
        self.request_stop()
        task, self._task = self._task, None
        if task is not None:
            try:
                await asyncio.wait_for(task, self.stop_timeout_s)
            except TimeoutError:
                self.log.warning(
                    "The %s was stopped mid-round: what it held is done again later",
                    self.description,
                )
            except asyncio.CancelledError:
                pass
        await self.finish()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    async def _run(self) -> None:
        if self.wait_first:
            await self._wait()
        while not self._stopping:
            assert self._woken is not None
            self._woken.clear()
            try:
                busy = await self.round()
            except Exception:
                self.log.exception(
                    "The %s failed; it tries again at its next round", self.description
                )
                busy = False
            if not busy:
                await self._wait()

    async def _wait(self) -> None:
        """Until woken (or stopped), or ``interval_s`` has passed."""
        assert self._woken is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._woken.wait(), self.interval_s)
