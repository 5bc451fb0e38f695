"""Stage 5 parity, locks and odd input: CPython's Lock, Condition and Queue
with a holder or a waiter cancelled, and cancellation given odd input, on
its loop, on a virtual clock.

Every section runs on the real `asyncio.SelectorEventLoop` with its real
`Lock`, `Condition`, `Queue`, `wait_for`, `timeout`, `shield` and
`Task.cancel`; only the clock and the wait are replaced (virtual_asyncio's
`NeverWaitingSelector`). tests/parity_stage05_sync.rs runs the same cases
on our stage 5 tasks and stage 4 primitives and compares them section by
section, line by line, each line stamped with the loop's time and
iteration. A primitive's `repr` is cut down to its state in brackets, as
in stage04_sync.py.

Left out, as our code does otherwise (tests/parity_stage05_sync.rs says
how; crates/05-cancellation/tests/odd_input.rs checks what ours does):
- a timeout of NaN: asyncio 3.11's timer at NaN runs in the next
  iteration, so `wait_for` lets the coroutine's first step run, and
  `timeout` its block run to its first await, before `TimeoutError`; ours
  refuses NaN at once with a typed error, and starts neither;
- the message of a cancel: asyncio's `CancelledError` carries one; our
  cancellation carries none.

On stage 5's fast path, whose `wait_for` is 3.12's, the Rust test compares
the `wait_for` sections with this script run on CPython 3.12.
"""

import asyncio
import math

from virtual_asyncio import NeverWaitingSelector, Sections, stamp_iteration

section = Sections()


def ended(task):
    """How a task ended, in the words the Rust test prints."""
    if not task.done():
        return "pending"
    if task.cancelled():
        return "cancelled"
    if task.exception() is not None:
        return f"failed: {task.exception()}"
    return f"result {task.result()}"


def state(primitive):
    """The bracketed state at the end of a lock's `repr`, `[unlocked,
    waiters:1]`: the rest names its module and address."""
    return "[" + repr(primitive).rsplit(" [", 1)[1][:-1]


def cleans_up(loop, delay, clean_up, value):
    """A coroutine that sleeps `delay` s and returns `value`; cancelled, it
    cleans up for `clean_up` s and passes the cancellation on."""

    async def worker():
        try:
            await asyncio.sleep(delay)
        except asyncio.CancelledError:
            stamp_iteration(loop, f"worker: cancelled; cleans up {clean_up} s")
            await asyncio.sleep(clean_up)
            stamp_iteration(loop, "worker: passes it on")
            raise
        stamp_iteration(loop, f"worker: returns {value}")
        return value

    return worker()


def lock_user(loop, lock, name, hold):
    """After a yield, ask for `lock` and hold it `hold` s; cancelled while
    asking, say so."""

    async def user():
        await asyncio.sleep(0)
        stamp_iteration(loop, f"{name}: acquire {state(lock)}")
        try:
            await lock.acquire()
        except asyncio.CancelledError:
            stamp_iteration(loop, f"{name}: cancelled {state(lock)}")
            raise
        try:
            stamp_iteration(loop, f"{name}: holds it")
            await asyncio.sleep(hold)
            stamp_iteration(loop, f"{name}: release")
        finally:
            lock.release()

    return user()


async def reap(tasks):
    """Await each of `tasks`, whatever it ends with."""
    for task in tasks:
        try:
            await task
        except asyncio.CancelledError:
            pass


@section
def lock_holder_cancelled_releases_it_to_the_next_waiter(loop):
    lock = asyncio.Lock()

    async def holder():
        async with lock:
            stamp_iteration(loop, "holder: holds it")
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                stamp_iteration(loop, f"holder: cancelled {state(lock)}")
                raise

    async def main():
        held = loop.create_task(holder())
        waiter = loop.create_task(lock_user(loop, lock, "waiter", 0.5))
        await asyncio.sleep(1)
        stamp_iteration(loop, f"main: cancel holder: {held.cancel()} {state(lock)}")
        await reap([held, waiter])
        stamp_iteration(loop, f"holder {ended(held)}, waiter {ended(waiter)}; {state(lock)}")

    loop.run_until_complete(main())


@section
def lock_waiter_cancelled_leaves_the_queue(loop):
    lock = asyncio.Lock()

    async def main():
        tasks = [
            loop.create_task(lock_user(loop, lock, name, hold))
            for name, hold in (("a", 2), ("b", 0.5), ("c", 0.5))
        ]
        await asyncio.sleep(1)
        stamp_iteration(loop, f"main: cancel b: {tasks[1].cancel()} {state(lock)}")
        await asyncio.sleep(0)
        stamp_iteration(loop, f"main: {state(lock)}")
        await reap(tasks)
        line = ", ".join(ended(task) for task in tasks)
        stamp_iteration(loop, f"a, b, c: {line}; {state(lock)}")

    loop.run_until_complete(main())


@section
def lock_waiter_woken_then_cancelled_passes_it_on(loop):
    lock = asyncio.Lock()

    async def main():
        await lock.acquire()
        tasks = [loop.create_task(lock_user(loop, lock, name, 0.5)) for name in ("b", "c")]
        await asyncio.sleep(1)
        # The release wakes b, which has not run yet when it is cancelled.
        lock.release()
        stamp_iteration(loop, f"main: released {state(lock)}; cancel b: {tasks[0].cancel()}")
        await reap(tasks)
        line = ", ".join(ended(task) for task in tasks)
        stamp_iteration(loop, f"b, c: {line}; {state(lock)}")

    loop.run_until_complete(main())


@section
def condition_wait_cancelled_retakes_its_lock(loop):
    lock = asyncio.Lock()
    condition = asyncio.Condition(lock)

    async def waits():
        async with condition:
            stamp_iteration(loop, "w: waits")
            try:
                await condition.wait()
            except asyncio.CancelledError:
                stamp_iteration(loop, f"w: CancelledError, lock {state(lock)}")
                raise

    async def main():
        w = loop.create_task(waits())
        await asyncio.sleep(1)
        async with condition:
            stamp_iteration(loop, f"main: holds the lock; cancel w: {w.cancel()}")
            await asyncio.sleep(0.2)
            line = f"lock {state(lock)}, condition {state(condition)}"
            stamp_iteration(loop, f"main: {line}; cancel w again: {w.cancel()}")
            await asyncio.sleep(0.3)
            stamp_iteration(loop, "main: releases the lock")
        try:
            await w
        except asyncio.CancelledError:
            stamp_iteration(loop, "main: w cancelled")
        stamp_iteration(loop, f"w {ended(w)}, cancelling {w.cancelling()}; lock {state(lock)}")

    loop.run_until_complete(main())


def getter(loop, queue, name):
    """Get one item from `queue`, and say so, or that it was cancelled."""

    async def getter():
        stamp_iteration(loop, f"{name}: get")
        try:
            item = await queue.get()
        except asyncio.CancelledError:
            stamp_iteration(loop, f"{name}: cancelled; qsize {queue.qsize()}")
            raise
        stamp_iteration(loop, f"{name}: got {item}")
        return item

    return getter()


@section
def queue_get_cancelled_loses_no_item(loop):
    queue = asyncio.Queue()

    async def main():
        tasks = [loop.create_task(getter(loop, queue, name)) for name in ("g1", "g2")]
        await asyncio.sleep(1)
        stamp_iteration(loop, f"main: cancel g1: {tasks[0].cancel()}")
        await asyncio.sleep(1)
        queue.put_nowait("x")
        stamp_iteration(loop, f"main: put x; qsize {queue.qsize()}")
        await reap(tasks)
        line = ", ".join(ended(task) for task in tasks)
        stamp_iteration(loop, f"g1, g2: {line}; qsize {queue.qsize()}")

    loop.run_until_complete(main())


@section
def queue_get_woken_then_cancelled_loses_no_item(loop):
    queue = asyncio.Queue()

    async def main():
        tasks = [loop.create_task(getter(loop, queue, name)) for name in ("g1", "g2")]
        await asyncio.sleep(1)
        # The put wakes g1, which has not run yet when it is cancelled.
        queue.put_nowait("x")
        stamp_iteration(loop, f"main: put x; cancel g1: {tasks[0].cancel()}")
        await reap(tasks)
        line = ", ".join(ended(task) for task in tasks)
        stamp_iteration(loop, f"g1, g2: {line}; qsize {queue.qsize()}")

    loop.run_until_complete(main())


@section
def cancel_a_finished_task(loop):
    async def returns():
        return 7

    async def fails():
        raise ValueError("boom")

    async def main():
        returned = loop.create_task(returns())
        failed = loop.create_task(fails())
        cancelled = loop.create_task(asyncio.sleep(10))
        await asyncio.sleep(0)
        stamp_iteration(loop, f"main: cancel the sleeper: {cancelled.cancel()}")
        await asyncio.sleep(0)
        for name, task in (("returned", returned), ("failed", failed), ("cancelled", cancelled)):
            line = f"done {task.done()}; cancel: {task.cancel()}"
            stamp_iteration(loop, f"{name}: {line}; {ended(task)}, cancelling {task.cancelling()}")

    loop.run_until_complete(main())


@section
def two_cancels_before_the_first_step(loop):
    async def body():
        stamp_iteration(loop, "body runs")
        await asyncio.sleep(1)

    async def main():
        task = loop.create_task(body())
        first, second = task.cancel("first"), task.cancel("second")
        line = f"cancel('first'): {first}, cancel('second'): {second}"
        stamp_iteration(loop, f"main: {line}, cancelling {task.cancelling()}")
        try:
            await task
        except asyncio.CancelledError:
            stamp_iteration(loop, "main: CancelledError")
        stamp_iteration(loop, f"task {ended(task)}, cancelling {task.cancelling()}")

    loop.run_until_complete(main())


@section
def two_cancels_at_a_sleep_arrive_once(loop):
    async def main():
        task = loop.create_task(cleans_up(loop, 10, 0.5, 1))
        await asyncio.sleep(1)
        # The first goes to the sleep's future; the second is kept for the
        # task's next step, which the first's delivery takes instead.
        first, second = task.cancel("first"), task.cancel("second")
        line = f"cancel('first'): {first}, cancel('second'): {second}"
        stamp_iteration(loop, f"main: {line}, cancelling {task.cancelling()}")
        try:
            await task
        except asyncio.CancelledError:
            stamp_iteration(loop, "main: CancelledError")
        stamp_iteration(loop, f"task {ended(task)}, cancelling {task.cancelling()}")

    loop.run_until_complete(main())


@section
def second_cancel_during_the_clean_up(loop):
    async def main():
        task = loop.create_task(cleans_up(loop, 10, 0.5, 1))
        await asyncio.sleep(1)
        stamp_iteration(loop, f"main: cancel: {task.cancel()}")
        await asyncio.sleep(0.2)
        stamp_iteration(loop, f"main: done {task.done()}; cancel again: {task.cancel()}")
        try:
            await task
        except asyncio.CancelledError:
            stamp_iteration(loop, "main: CancelledError")
        stamp_iteration(loop, f"task {ended(task)}, cancelling {task.cancelling()}")

    loop.run_until_complete(main())


@section
def wait_for_negative_and_infinite_timeouts(loop):
    async def body():
        stamp_iteration(loop, "body runs")
        await asyncio.sleep(0.3)
        return 7

    async def eight():
        return 8

    async def main():
        try:
            await asyncio.wait_for(body(), -1)
            stamp_iteration(loop, "main: wait_for(body(), -1) returned")
        except TimeoutError:
            stamp_iteration(loop, "main: wait_for(body(), -1): TimeoutError")
        done = loop.create_task(eight())
        await asyncio.sleep(0)
        value = await asyncio.wait_for(done, -1)
        stamp_iteration(loop, f"main: wait_for(a finished task, -1): {value}")
        value = await asyncio.wait_for(cleans_up(loop, 300, 0, 9), math.inf)
        stamp_iteration(loop, f"main: wait_for(worker, inf): {value}")

    loop.run_until_complete(main())


@section
def timeout_negative_and_infinite(loop):
    async def main():
        me = asyncio.current_task()
        scope = asyncio.timeout(-1)
        try:
            async with scope:
                stamp_iteration(loop, "block: before its first await")
                await asyncio.sleep(0.3)
                stamp_iteration(loop, "block: after it")
        except TimeoutError:
            stamp_iteration(loop, "main: timeout(-1): TimeoutError")
        line = f"expired {scope.expired()}, when {scope.when():.3f}"
        stamp_iteration(loop, f"main: {line}, cancelling {me.cancelling()}")
        scope = asyncio.timeout(math.inf)
        async with scope:
            value = await cleans_up(loop, 300, 0, 9)
        line = f"got {value}; expired {scope.expired()}, when {scope.when():.3f}"
        stamp_iteration(loop, f"main: timeout(inf): {line}")

    loop.run_until_complete(main())


@section
def shield_of_a_finished_task(loop):
    witnessed = []

    async def witness():
        witnessed.append("ran")

    async def returns():
        return 7

    async def fails():
        raise ValueError("boom")

    async def main():
        me = asyncio.current_task()
        returned = loop.create_task(returns())
        failed = loop.create_task(fails())
        cancelled = loop.create_task(asyncio.sleep(10))
        await asyncio.sleep(0)
        cancelled.cancel()
        await asyncio.sleep(0)
        # Runs at the first await below that yields to the loop, if any.
        loop.create_task(witness())
        outer = asyncio.shield(returned)
        stamp_iteration(loop, f"main: shield(returned) done at once: {outer.done()}")
        value = await outer
        stamp_iteration(loop, f"main: got {value}; witness ran {bool(witnessed)}")
        try:
            await asyncio.shield(failed)
        except ValueError as error:
            stamp_iteration(loop, f"main: shield(failed) raised {error}; witness ran {bool(witnessed)}")
        try:
            await asyncio.shield(cancelled)
        except asyncio.CancelledError:
            line = f"witness ran {bool(witnessed)}, main cancelling {me.cancelling()}"
            stamp_iteration(loop, f"main: shield(cancelled) raised CancelledError; {line}")
        await asyncio.sleep(0)
        stamp_iteration(loop, f"main: after a yield, witness ran {bool(witnessed)}")

    loop.run_until_complete(main())


@section
def wait_for_no_timeout_a_task(loop):
    async def main():
        task = loop.create_task(cleans_up(loop, 1000, 0, 5))
        stamp_iteration(loop, "main: wait_for(task, None)")
        value = await asyncio.wait_for(task, None)
        stamp_iteration(loop, f"main: got {value}")

    loop.run_until_complete(main())



@section
def wait_for_no_timeout_a_coroutine(loop):
    async def main():
        stamp_iteration(loop, "main: wait_for(coroutine, None)")
        value = await asyncio.wait_for(cleans_up(loop, 1000, 0, 5), None)
        stamp_iteration(loop, f"main: got {value}")

    loop.run_until_complete(main())


section.run(NeverWaitingSelector)
