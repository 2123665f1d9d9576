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
