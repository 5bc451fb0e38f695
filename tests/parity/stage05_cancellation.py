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


@section
def shield_cancelling_the_awaiter(loop):
    async def inner():
        await asyncio.sleep(2)
        stamp_iteration(loop, "inner: done, returns 7")
        return 7

    async def awaiter(task):
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            stamp_iteration(loop, "awaiter: CancelledError")
            raise

    async def main():
        inner_task = loop.create_task(inner())
        awaiter_task = loop.create_task(awaiter(inner_task))
        await asyncio.sleep(1)
        stamp_iteration(loop, f"main: cancel awaiter: {awaiter_task.cancel()}")
        try:
            await awaiter_task
        except asyncio.CancelledError:
            stamp_iteration(loop, "main: awaiter cancelled")
        stamp_iteration(loop, f"main: inner done {inner_task.done()}")
        stamp_iteration(loop, f"main: inner returned {await inner_task}")
        stamp_iteration(loop, f"inner {ended(inner_task)}, awaiter {ended(awaiter_task)}")

    loop.run_until_complete(main())


@section
def shield_cancelling_the_inner(loop):
    async def inner():
        try:
            await asyncio.sleep(2)
            return 7
        except asyncio.CancelledError:
            stamp_iteration(loop, "inner: cancelled")
            raise

    async def awaiter(task):
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            stamp_iteration(loop, "awaiter: CancelledError")
            raise

    async def main():
        inner_task = loop.create_task(inner())
        awaiter_task = loop.create_task(awaiter(inner_task))
        await asyncio.sleep(1)
        stamp_iteration(loop, f"main: cancel inner: {inner_task.cancel()}")
        try:
            await awaiter_task
        except asyncio.CancelledError:
            stamp_iteration(loop, "main: awaiter cancelled")
        line = f"inner {ended(inner_task)}, awaiter {ended(awaiter_task)}"
        stamp_iteration(loop, f"{line}, awaiter cancelling {awaiter_task.cancelling()}")

    loop.run_until_complete(main())


def cleans_up(loop, delay, clean_up, value):
    """A coroutine that sleeps `delay` s and returns `value`; cancelled, it
    cleans up for `clean_up` s and passes the cancellation on."""

    async def worker():
        try:
            await asyncio.sleep(delay)
            stamp_iteration(loop, f"worker: returns {value}")
            return value
        except asyncio.CancelledError:
            stamp_iteration(loop, f"worker: cancelled; cleans up {clean_up} s")
            await asyncio.sleep(clean_up)
            stamp_iteration(loop, "worker: passes it on")
            raise

    return worker()


@section
def wait_for_times_out_after_the_clean_up(loop):
    async def main():
        task = loop.create_task(cleans_up(loop, 10, 0.5, 1))
        try:
            await asyncio.wait_for(task, 1)
        except TimeoutError:
            stamp_iteration(loop, "main: TimeoutError")
        me = asyncio.current_task()
        stamp_iteration(loop, f"worker {ended(task)}; main cancelling {me.cancelling()}")

    loop.run_until_complete(main())


@section
def wait_for_in_time(loop):
    async def main():
        value = await asyncio.wait_for(cleans_up(loop, 1, 0, 5), 10)
        stamp_iteration(loop, f"main: got {value}; sleeps past the deadline")
        await asyncio.sleep(20)
        stamp_iteration(loop, "main: nothing fired")

    loop.run_until_complete(main())


@section
def wait_for_zero(loop):
    async def body():
        stamp_iteration(loop, "body runs")
        return 1

    async def two():
        return 2

    async def main():
        try:
            await asyncio.wait_for(body(), 0)
        except TimeoutError:
            stamp_iteration(loop, "main: a coroutine: TimeoutError")
        finished = loop.create_task(two())
        await asyncio.sleep(0)
        value = await asyncio.wait_for(finished, 0)
        stamp_iteration(loop, f"main: a finished task: {value}")
        running = loop.create_task(cleans_up(loop, 5, 0, 3))
        await asyncio.sleep(0)
        try:
            await asyncio.wait_for(running, -1)
        except TimeoutError:
            stamp_iteration(loop, "main: a running task: TimeoutError")
        stamp_iteration(loop, f"running {ended(running)}")

    loop.run_until_complete(main())


@section
def wait_for_refused_and_at_the_deadline(loop):
    async def refuses():
        try:
            await asyncio.sleep(10)
            return 1
        except asyncio.CancelledError:
            stamp_iteration(loop, "inner: swallows it, returns 99")
            return 99

    async def main():
        value = await asyncio.wait_for(refuses(), 1)
        stamp_iteration(loop, f"main: got {value}")
        # The worker's sleep starts a step after wait_for's timer, so (the
        # virtual clock moving on 1 ns at every read) it ends a few ns after
        # the deadline, as it would on a real clock.
        try:
            value = await asyncio.wait_for(cleans_up(loop, 1, 0, 2), 1)
            stamp_iteration(loop, f"main: at the deadline, got {value}")
        except TimeoutError:
            stamp_iteration(loop, "main: at the deadline: TimeoutError")

    loop.run_until_complete(main())


@section
def wait_for_cancelled_from_outside(loop):
    async def waits(task):
        try:
            return await asyncio.wait_for(task, 5)
        except asyncio.CancelledError:
            stamp_iteration(loop, "waiter: CancelledError")
            raise

    async def main():
        inner = loop.create_task(cleans_up(loop, 10, 0.5, 1))
        waiter = loop.create_task(waits(inner))
        await asyncio.sleep(1)
        stamp_iteration(loop, f"main: cancel waiter: {waiter.cancel()}")
        try:
            await waiter
        except asyncio.CancelledError:
            stamp_iteration(loop, "main: waiter cancelled")
        stamp_iteration(loop, f"inner {ended(inner)}, waiter {ended(waiter)}")
        await asyncio.sleep(10)
        stamp_iteration(loop, "main: nothing fired")

    loop.run_until_complete(main())


@section
def timeout_in_time_and_late(loop):
    async def main():
        me = asyncio.current_task()
        async with asyncio.timeout(5) as scope:
            await asyncio.sleep(1)
            stamp_iteration(loop, "block: slept 1 s")
            await asyncio.sleep(1)
        stamp_iteration(loop, f"in time: expired {scope.expired()}, cancelling {me.cancelling()}")
        late = asyncio.timeout(1)
        try:
            async with late:
                await asyncio.sleep(10)
                stamp_iteration(loop, "late: never printed")
        except TimeoutError:
            stamp_iteration(loop, "late: TimeoutError")
        stamp_iteration(loop, f"late: expired {late.expired()}, cancelling {me.cancelling()}")
        await asyncio.sleep(5)
        stamp_iteration(loop, "main: slept on, not cancelled")

    loop.run_until_complete(main())


@section
def timeout_reschedule(loop):
    async def main():
        async with asyncio.timeout(1) as scope:
            scope.reschedule(loop.time() + 3)
            stamp_iteration(loop, f"block: deadline moved to {scope.when():.3f}")
            await asyncio.sleep(2)
            stamp_iteration(loop, "block: slept 2 s, in time")
        stamp_iteration(loop, f"later: expired {scope.expired()}")
        late = asyncio.timeout(10)
        try:
            async with late:
                late.reschedule(loop.time() + 1)
                await asyncio.sleep(2)
        except TimeoutError:
            stamp_iteration(loop, "sooner: TimeoutError")
        stamp_iteration(loop, f"sooner: expired {late.expired()}")
        async with asyncio.timeout(1) as never:
            never.reschedule(None)
            await asyncio.sleep(2)
        stamp_iteration(loop, f"no deadline: expired {never.expired()}")
        past = asyncio.timeout(10)
        try:
            async with past:
                past.reschedule(loop.time() - 1)
                await asyncio.sleep(1)
        except TimeoutError:
            stamp_iteration(loop, "past: TimeoutError")
        stamp_iteration(loop, f"past: expired {past.expired()}")

    loop.run_until_complete(main())


@section
def timeout_swallowed_and_nested(loop):
    async def main():
        me = asyncio.current_task()
        async with asyncio.timeout(1) as scope:
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                stamp_iteration(loop, "block: swallows the cancellation")
        line = f"swallowed: expired {scope.expired()}, cancelling {me.cancelling()}"
        stamp_iteration(loop, line)
        outer, inner = asyncio.timeout(1), asyncio.timeout(5)
        try:
            async with outer:
                try:
                    async with inner:
                        await asyncio.sleep(10)
                except asyncio.CancelledError:
                    stamp_iteration(loop, "inner scope: passes CancelledError on")
                    raise
        except TimeoutError:
            stamp_iteration(loop, "outer scope: TimeoutError")
        line = f"outer expired {outer.expired()}, inner expired {inner.expired()}"
        stamp_iteration(loop, f"{line}, cancelling {me.cancelling()}")
        outer, inner = asyncio.timeout(5), asyncio.timeout(1)
        async with outer:
            try:
                async with inner:
                    await asyncio.sleep(10)
            except TimeoutError:
                stamp_iteration(loop, "inner scope: TimeoutError, caught in the outer")
        line = f"outer expired {outer.expired()}, inner expired {inner.expired()}"
        stamp_iteration(loop, f"{line}, cancelling {me.cancelling()}")

    loop.run_until_complete(main())


@section
def timeout_cancelled_from_outside(loop):
    async def guarded(scope):
        try:
            async with scope:
                await asyncio.sleep(10)
        except asyncio.CancelledError:
            stamp_iteration(loop, f"guarded: CancelledError; expired {scope.expired()}")
            raise

    async def main():
        task = loop.create_task(guarded(asyncio.timeout(5)))
        await asyncio.sleep(1)
        stamp_iteration(loop, f"main: cancel: {task.cancel()}")
        try:
            await task
        except asyncio.CancelledError:
            stamp_iteration(loop, "main: task cancelled")
        stamp_iteration(loop, f"task {ended(task)}")
        # The scope's timer, then a cancel from outside, in one iteration:
        # two requests, and the scope takes back only its own.
        scope = asyncio.timeout(1)
        task = loop.create_task(guarded(scope))
        await asyncio.sleep(0)
        loop.call_at(scope.when(), task.cancel)
        try:
            await task
        except asyncio.CancelledError:
            stamp_iteration(loop, "main: task cancelled")
        stamp_iteration(loop, f"task {ended(task)}")

    loop.run_until_complete(main())


@section
def timeout_entered_while_cancelling(loop):
    async def main():
        me = asyncio.current_task()
        me.cancel()
        try:
            await asyncio.sleep(0)
        except asyncio.CancelledError:
            stamp_iteration(loop, f"main: refuses a cancellation; cancelling {me.cancelling()}")
        scope = asyncio.timeout(1)
        try:
            async with scope:
                await asyncio.sleep(10)
        except TimeoutError:
            stamp_iteration(loop, "main: TimeoutError")
        except asyncio.CancelledError:
            stamp_iteration(loop, "main: CancelledError")
        stamp_iteration(loop, f"main: expired {scope.expired()}, cancelling {me.cancelling()}")

    loop.run_until_complete(main())

section.run(NeverWaitingSelector)
