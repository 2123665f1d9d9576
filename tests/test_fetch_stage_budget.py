"""The decode queue's byte budget: downloads pause only when that many bytes wait for decoding."""

import asyncio

from wit.pipeline.fetch import ByteBudget


def test_acquire_waits_until_the_bytes_fit_and_oversized_bodies_still_pass():
    async def scenario():
        budget = ByteBudget(100)
        await budget.acquire(60)
        second = asyncio.ensure_future(budget.acquire(60))  # 120 > 100: must wait
        await asyncio.sleep(0.01)
        assert not second.done()
        await budget.release(60)
        await asyncio.wait_for(second, 1)
        await budget.release(60)
        await asyncio.wait_for(budget.acquire(500), 1)  # larger than the budget, but nothing is held
        third = asyncio.ensure_future(budget.acquire(1))
        await asyncio.sleep(0.01)
        assert not third.done()
        await budget.release(500)
        await asyncio.wait_for(third, 1)

    asyncio.run(scenario())


def test_waiters_are_served_in_order_and_a_release_wakes_only_those_that_fit():
    async def scenario():
        budget = ByteBudget(100)
        await budget.acquire(90)
        order = []

        async def take(name, n):
            await budget.acquire(n)
            order.append(name)

        big = asyncio.ensure_future(take("big", 50))
        await asyncio.sleep(0)
        small = asyncio.ensure_future(take("small", 5))  # would fit now (95), but waits its turn
        await asyncio.sleep(0.01)
        assert order == [] and not big.done() and not small.done()
        await budget.release(90)
        await asyncio.wait_for(asyncio.gather(big, small), 1)
        assert order == ["big", "small"]
        third = asyncio.ensure_future(take("third", 60))  # 55 held + 60 > 100
        await asyncio.sleep(0.01)
        assert not third.done()
        await budget.release(5)  # 50 + 60 still too much: it keeps waiting
        await asyncio.sleep(0.01)
        assert not third.done()
        await budget.release(50)
        await asyncio.wait_for(third, 1)
        await budget.release(60)
        await asyncio.wait_for(budget.acquire(100), 1)  # everything was given back

    asyncio.run(scenario())


def test_a_cancelled_waiter_neither_holds_bytes_nor_blocks_the_queue():
    async def scenario():
        budget = ByteBudget(100)
        await budget.acquire(80)
        blocked = asyncio.ensure_future(budget.acquire(50))
        await asyncio.sleep(0)
        behind = asyncio.ensure_future(budget.acquire(10))  # fits, but queued behind `blocked`
        await asyncio.sleep(0.01)
        assert not behind.done()
        blocked.cancel()  # the one in front gives up: the next in line goes through
        await asyncio.wait_for(behind, 1)
        # Granted and cancelled before it ran: its bytes come back.
        await budget.release(10)
        granted_then_cancelled = asyncio.ensure_future(budget.acquire(30))
        await asyncio.sleep(0)
        await budget.release(80)  # grants the 30 ...
        granted_then_cancelled.cancel()  # ... whose task is cancelled before it resumes
        await asyncio.gather(granted_then_cancelled, return_exceptions=True)
        await asyncio.wait_for(budget.acquire(100), 1)  # nothing is held

    asyncio.run(scenario())
