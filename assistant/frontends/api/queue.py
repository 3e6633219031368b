"""The API's queue of answers: `slots` run at once, the others wait first come, first served, and each
waiting request knows its place in line, so a client can show it instead of a silent wait.

Everything here runs on the serving event loop (no threads touch it), so plain counters need no lock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class Turn:
    """One request's place in the queue: `position` is 0 once it is being answered, else its place in
    line (1 = next). Leave with `done()` whatever happens (answered, failed, or the client went away)."""

    def __init__(self, queue: AnswerQueue) -> None:
        self._queue = queue
        self._moved = asyncio.Event()
        self.admitted = False
        self.finished = False
        self.told = 0  # the position the client last heard of
        self.joined_at = 0  # its place in line when it arrived: what a request without a stream reports

    @property
    def position(self) -> int:
        return 0 if self.admitted else self._queue.waiting.index(self) + 1

    async def moves(self) -> AsyncIterator[int]:
        """Each position since the one it joined at (or last yielded) while the request waits; the last
        one is 0, its turn."""
        while self.told:
            await self._moved.wait()
            self._moved.clear()
            if self.position != self.told:
                self.told = self.position
                yield self.told

    def done(self) -> None:
        if self.finished:
            return
        self.finished = True
        if self.admitted:
            self._queue.running -= 1
        else:
            self._queue.waiting.remove(self)
        self._queue.admit()


class AnswerQueue:
    def __init__(self, slots: int) -> None:
        self.slots = max(1, slots)
        self.running = 0
        self.waiting: list[Turn] = []

    def join(self) -> Turn:
        turn = Turn(self)
        self.waiting.append(turn)
        self.admit()
        turn.told = turn.joined_at = turn.position
        return turn

    def admit(self) -> None:
        """Let the first in line run while slots are free; tell everyone still waiting that it moved."""
        while self.running < self.slots and self.waiting:
            turn = self.waiting.pop(0)
            turn.admitted = True
            self.running += 1
            turn._moved.set()
        for turn in self.waiting:
            turn._moved.set()

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[Turn]:
        """Wait for a slot, then hold it: for a request without a stream, which can only tell its client
        afterwards where it stood (`Turn.joined_at`)."""
        turn = self.join()
        try:
            async for _ in turn.moves():
                pass
            yield turn
        finally:
            turn.done()

    def status(self) -> dict[str, int]:
        return {"slots": self.slots, "running": self.running, "waiting": len(self.waiting)}
