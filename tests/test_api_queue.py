"""The API's answer queue on its own (assistant/frontends/api/queue.py): slots, first come first served,
positions that move as requests ahead finish or leave, and a slot freed whatever ends a request."""

from __future__ import annotations

import asyncio

import pytest

from assistant.frontends.api.queue import AnswerQueue


async def _next(moves, timeout: float = 2.0) -> int:
    return await asyncio.wait_for(anext(moves), timeout)


def test_positions_move_as_requests_ahead_finish_or_leave():
    async def scenario() -> None:
        queue = AnswerQueue(slots=2)
        a, b, c, d, e = (queue.join() for _ in range(5))
        assert [t.position for t in (a, b, c, d, e)] == [0, 0, 1, 2, 3]
        assert queue.status() == {"slots": 2, "running": 2, "waiting": 3}
        d_moves, e_moves = d.moves(), e.moves()
        waiting_d = asyncio.ensure_future(_next(d_moves))
        await asyncio.sleep(0)
        c.done()  # c gives up while waiting (its client went away): d and e move up, nobody is admitted
        assert await waiting_d == 1 and await _next(e_moves) == 2
        assert queue.status() == {"slots": 2, "running": 2, "waiting": 2}
        a.done()  # a's answer is done: d runs
        assert await _next(d_moves) == 0 and d.admitted
        assert await _next(e_moves) == 1
        with pytest.raises(StopAsyncIteration):
            await _next(d_moves)  # its turn came: no more moves
        a.done()  # twice is harmless
        assert queue.status() == {"slots": 2, "running": 2, "waiting": 1}

    asyncio.run(scenario())


def test_the_context_manager_waits_for_a_slot_and_frees_it_on_error():
    async def scenario() -> list[str]:
        queue = AnswerQueue(slots=1)
        order: list[str] = []

        async def answer(name: str, fail: bool = False) -> None:
            async with queue.turn():
                order.append(f"{name} starts")
                await asyncio.sleep(0.01)
                if fail:
                    raise RuntimeError("model down")
                order.append(f"{name} ends")

        results = await asyncio.gather(
            answer("first", fail=True), answer("second"), answer("third"), return_exceptions=True
        )
        assert isinstance(results[0], RuntimeError) and queue.status()["running"] == 0
        return order

    assert asyncio.run(scenario()) == ["first starts", "second starts", "second ends", "third starts",
                                       "third ends"]  # fmt: skip
