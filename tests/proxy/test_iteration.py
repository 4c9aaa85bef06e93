"""`EndOfIteration`: calls asked for in one event-loop iteration (or a few) run together at its end."""

from __future__ import annotations

import asyncio

import pytest

from guard.proxy.iteration import EndOfIteration


def test_calls_of_one_iteration_run_together_in_order_in_one_callback() -> None:
    batch = EndOfIteration()
    log: list[str] = []

    def work(name: str, *, twice: bool = False) -> str:
        log.append(name)
        return name * 2 if twice else name

    async def main() -> list[str]:
        loop = asyncio.get_running_loop()
        loop.call_soon(log.append, "ready before")
        futures = [batch.run(work, "a"), batch.run(work, "b", twice=True)]
        loop.call_soon(log.append, "ready after")  # queued after the batch's callback
        assert log == []  # nothing ran while they were asked for
        return list(await asyncio.gather(*futures))

    assert asyncio.run(main()) == ["a", "bb"]
    assert log == ["ready before", "a", "b", "ready after"]


def test_a_later_iteration_makes_a_new_batch() -> None:
    batch = EndOfIteration()
    sizes: list[int] = []

    async def main() -> None:
        first = [batch.run(len, "x") for _ in range(3)]
        sizes.append(len(batch._pending[asyncio.get_running_loop()]))
        await asyncio.gather(*first)
        second = batch.run(len, "yy")
        sizes.append(len(batch._pending[asyncio.get_running_loop()]))
        assert await second == 2
        assert not batch._pending  # nothing left behind

    asyncio.run(main())
    assert sizes == [3, 1]


def test_an_exception_goes_to_its_own_caller_only() -> None:
    batch = EndOfIteration()

    def fail() -> None:
        raise ValueError("broken check")

    async def main() -> tuple[BaseException | int, ...]:
        return tuple(await asyncio.gather(batch.run(len, "ab"), batch.run(fail), batch.run(len, "abc"),
                                          return_exceptions=True))

    first, failed, last = asyncio.run(main())
    assert first == 2 and last == 3
    assert isinstance(failed, ValueError) and str(failed) == "broken check"


def test_a_cancelled_caller_is_skipped() -> None:
    batch = EndOfIteration()
    ran: list[str] = []

    async def main() -> str:
        skipped = batch.run(ran.append, "cancelled")
        kept = batch.run(ran.append, "kept")
        skipped.cancel()
        await kept
        return "done"

    assert asyncio.run(main()) == "done"
    assert ran == ["kept"]


def test_an_interrupt_fails_the_waiters_left_and_stops_the_loop() -> None:
    batch = EndOfIteration()
    seen: list[asyncio.Future[object]] = []

    def interrupt() -> None:
        raise KeyboardInterrupt

    async def main() -> None:
        seen.extend([batch.run(len, "a"), batch.run(interrupt), batch.run(len, "b")])
        await asyncio.gather(*seen)

    with pytest.raises(KeyboardInterrupt):
        asyncio.run(main())
    assert seen[0].result() == 1
    assert all(isinstance(f.exception(), RuntimeError) for f in seen[1:])


def test_each_event_loop_has_its_own_batch() -> None:
    batch = EndOfIteration()

    async def main(text: str) -> int:
        return await batch.run(len, text)

    assert asyncio.run(main("abc")) == 3
    assert asyncio.run(main("abcd")) == 4
    assert not batch._pending


def _asked_over_three_iterations(batch: EndOfIteration) -> list[str]:
    """Ask for a call in this iteration, one in the next and one in the one after; the log."""
    log: list[str] = []
    futures: list[asyncio.Future[None]] = []

    def ask(name: str) -> None:
        futures.append(batch.run(log.append, name))

    async def main() -> None:
        loop = asyncio.get_running_loop()
        asked = loop.create_future()

        def second() -> None:
            log.append("iteration 1")
            ask("b")
            loop.call_soon(third)

        def third() -> None:
            log.append("iteration 2")
            ask("c")
            asked.set_result(None)

        ask("a")
        loop.call_soon(second)
        await asked
        await asyncio.gather(*futures)

    asyncio.run(main())
    return log


def test_later_one_takes_in_the_calls_of_the_next_iteration_and_no_more() -> None:
    # a and b share a batch at the end of iteration 1; c, asked for after it ran, starts the next.
    assert _asked_over_three_iterations(EndOfIteration(later=1)) == ["iteration 1", "a", "b", "iteration 2", "c"]
    # later=0: each call runs at the end of the iteration it was asked for in.
    assert _asked_over_three_iterations(EndOfIteration()) == ["a", "iteration 1", "b", "iteration 2", "c"]


def test_the_limit_splits_a_batch_over_iterations() -> None:
    batch = EndOfIteration(limit=2)
    order: list[str] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()
        futures = [batch.run(order.append, name) for name in "abcde"]
        loop.call_soon(order.append, "between")  # runs in the iteration of the first two calls
        await asyncio.gather(*futures)

    asyncio.run(main())
    assert order == ["a", "b", "between", "c", "d", "e"]


def test_an_interrupt_fails_the_waiters_of_later_chunks_too() -> None:
    batch = EndOfIteration(limit=2)
    seen: list[asyncio.Future[object]] = []

    def interrupt() -> None:
        raise KeyboardInterrupt

    async def main() -> None:
        seen.extend([batch.run(len, "a"), batch.run(interrupt), batch.run(len, "b"), batch.run(len, "c")])
        await asyncio.gather(*seen)

    with pytest.raises(KeyboardInterrupt):
        asyncio.run(main())
    assert seen[0].result() == 1
    assert all(isinstance(f.exception(), RuntimeError) for f in seen[1:])


@pytest.mark.parametrize(("later", "limit"), [(-1, 16), (0, 0)])
def test_a_negative_wait_or_an_empty_limit_is_refused(later: int, limit: int) -> None:
    with pytest.raises(ValueError, match="later must be"):
        EndOfIteration(later=later, limit=limit)
