"""Stage 5 parity: CPython's cancellation, on its loop, on a virtual clock.

Every section runs on the real `asyncio.SelectorEventLoop` with its real
`Task.cancel`; only the clock and the wait are replaced (virtual_asyncio's
`NeverWaitingSelector`). tests/parity_stage05.rs runs the same cases on our
stage 5 tasks and compares them section by section, line by line, each
line stamped with the loop's time and iteration.
"""

import asyncio

from virtual_asyncio import NeverWaitingSelector, Sections, stamp_iteration

section = Sections()


def ended(task):
    """How a task ended, in the words the Rust test prints."""
    if task.cancelled():
        return "cancelled"
    if task.exception() is not None:
        return f"failed: {task.exception()}"
    return f"result {task.result()}"


@section
def cancel_then_await(loop):
    async def sleeper():
        await asyncio.sleep(10)

    async def main():
        task = loop.create_task(sleeper())
        await asyncio.sleep(1)
        stamp_iteration(loop, f"cancel: {task.cancel()}")
        stamp_iteration(loop, f"done {task.done()}, cancelled {task.cancelled()}")
        try:
            await task
        except asyncio.CancelledError:
            stamp_iteration(loop, "main: the awaiter sees CancelledError")
        stamp_iteration(loop, f"task {ended(task)}; cancel again: {task.cancel()}")

    loop.run_until_complete(main())


@section
def cancelled_before_its_first_step(loop):
    async def body():
        stamp_iteration(loop, "body runs")

    async def main():
        task = loop.create_task(body())
        stamp_iteration(loop, f"cancel: {task.cancel()}")
        try:
            await task
        except asyncio.CancelledError:
            pass
        stamp_iteration(loop, f"task {ended(task)}")

    loop.run_until_complete(main())


@section
def outer_inner_awaiter(loop):
    async def inner():
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            stamp_iteration(loop, "inner: cancelled; flushes 0.5 s")
            await asyncio.sleep(0.5)
            stamp_iteration(loop, "inner: passes it on")
            raise

    async def outer(task):
        try:
            await task
        except asyncio.CancelledError:
            stamp_iteration(loop, "outer: cancelled")
            raise

    async def main():
        inner_task = loop.create_task(inner())
        outer_task = loop.create_task(outer(inner_task))
        await asyncio.sleep(1)
        stamp_iteration(loop, f"main: cancel outer: {outer_task.cancel()}")
        try:
            await outer_task
        except asyncio.CancelledError:
            stamp_iteration(loop, "main: outer cancelled")
        stamp_iteration(loop, f"inner {ended(inner_task)}, outer {ended(outer_task)}")

    loop.run_until_complete(main())


@section
def inner_swallows_outer_carries_on(loop):
    async def inner():
        try:
            await asyncio.sleep(10)
            return 1
        except asyncio.CancelledError:
            stamp_iteration(loop, "inner: swallows it, returns 42")
            return 42

    async def outer():
        value = await loop.create_task(inner())
        stamp_iteration(loop, f"outer: got {value}; sleeps 1 s")
        await asyncio.sleep(1)
        return value + 1

    async def main():
        task = loop.create_task(outer())
        await asyncio.sleep(1)
        task.cancel()
        value = await task
        stamp_iteration(loop, f"main: outer returned {value}, cancelled {task.cancelled()}")

    loop.run_until_complete(main())


@section
def cancels_itself(loop):
    async def returns():
        asyncio.current_task().cancel()
        return "returned anyway"

    async def awaits(delay):
        asyncio.current_task().cancel()
        try:
            await asyncio.sleep(delay)
        except asyncio.CancelledError:
            stamp_iteration(loop, f"sleep({delay}) raised CancelledError")
            raise

    async def main():
        for coroutine in (returns(), awaits(5), awaits(0)):
            task = loop.create_task(coroutine)
            try:
                await task
            except asyncio.CancelledError:
                pass
            stamp_iteration(loop, f"task {ended(task)}")

    loop.run_until_complete(main())


@section
def cancelling_and_uncancel(loop):
    async def refuses_twice():
        refused = 0
        while refused < 2:
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                refused += 1
                me = asyncio.current_task()
                stamp_iteration(loop, f"refused {refused}: cancelling {me.cancelling()}, uncancel -> {me.uncancel()}")
        return asyncio.current_task().cancelling()

    async def main():
        task = loop.create_task(refuses_twice())
        for _ in range(2):
            await asyncio.sleep(0)
            task.cancel()
            stamp_iteration(loop, f"main: cancelled; cancelling {task.cancelling()}")
        stamp_iteration(loop, f"main: task returned {await task}")

    loop.run_until_complete(main())


section.run(NeverWaitingSelector)
