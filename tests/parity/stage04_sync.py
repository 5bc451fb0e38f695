"""Stage 4 parity: CPython's gather, locks and queue, on its loop, on a
virtual clock.

Every section runs on the real `asyncio.SelectorEventLoop` of the python3
that runs it, with its real `gather`, `Event`, `Lock`, `Semaphore`,
`BoundedSemaphore`, `Condition` and `Queue`; only the loop's clock and its
wait are replaced, by virtual_asyncio's `NeverWaitingSelector`, as in
stage04_futures_tasks.py.

It prints `== name` for each section, then that section's lines.
tests/parity_stage04_sync.rs runs the same cases on our Rust primitives
(crate stage04-futures-tasks) on stage 3's `SelectorEventLoop`, and compares
them section by section, line by line. Two kinds of line are normalised:
an exception is printed as its message (a gather's error) or as its class
(the invalid calls), which our typed errors name; and a primitive's `repr`
is cut down to its state in brackets, `[locked, waiters:1]`, which ours
print in the same words.
"""

import asyncio

from virtual_asyncio import NeverWaitingSelector, Sections, stamp_iteration

section = Sections()


def state(primitive):
    """The bracketed state at the end of a lock's `repr`, `[unlocked,
    waiters:1]`: the rest names its module and address."""
    return "[" + repr(primitive).rsplit(" [", 1)[1][:-1]


def outcome(call):
    """What `call()` does: `ok`, or the class of the exception it raises."""
    try:
        call()
    except Exception as error:
        return type(error).__name__
    return "ok"


def job(loop, name, delay):
    """A coroutine that sleeps `delay` seconds, says so, and returns `name`."""

    async def job():
        await asyncio.sleep(delay)
        stamp_iteration(loop, f"{name}: finished")
        return name

    return job()


def fails_at(loop, delay, name):
    """A future that a timer fails after `delay` seconds."""
    fut = loop.create_future()

    def fail():
        stamp_iteration(loop, f"timer: {name} fails")
        fut.set_exception(ValueError(f"{name} failed"))

    loop.call_later(delay, fail)
    return fut


@section
def gather_gives_results_in_argument_order(loop):
    async def main():
        tasks = [
            loop.create_task(job(loop, name, delay))
            for name, delay in (("a", 0.3), ("b", 0.1), ("c", 0.2))
        ]
        stamp_iteration(loop, "main: gather(a, b, c)")
        values = await asyncio.gather(*tasks)
        stamp_iteration(loop, f"main: gather gave {', '.join(values)}")

    loop.run_until_complete(main())
    print(f"iterations: {loop.iteration}")


@section
def gather_first_error_at_once_others_go_on(loop):
    async def main():
        a = loop.create_task(job(loop, "a", 2.0))
        late = fails_at(loop, 1.5, "late")
        early = fails_at(loop, 1.0, "early")
        c = loop.create_task(job(loop, "c", 0.5))
        stamp_iteration(loop, "main: gather(a, late, early, c)")
        try:
            await asyncio.gather(a, late, early, c)
        except ValueError as error:
            # Normalised: the message, which our error displays too.
            stamp_iteration(loop, f"main: gather raised: {error}")
        print(f"done: a {a.done()}, late {late.done()}, early {early.done()}, c {c.done()}")
        await asyncio.sleep(1.5)
        stamp_iteration(loop, f"main: a gave {a.result()}; late: {late.exception()}")

    loop.run_until_complete(main())
    print(f"iterations: {loop.iteration}")


@section
def gather_return_exceptions_gives_every_outcome(loop):
    async def main():
        a = loop.create_task(job(loop, "a", 0.3))
        early = fails_at(loop, 0.1, "early")
        c = loop.create_task(job(loop, "c", 0.2))
        late = fails_at(loop, 0.4, "late")
        stamp_iteration(loop, "main: gather(a, early, c, late, return_exceptions=True)")
        outcomes = await asyncio.gather(a, early, c, late, return_exceptions=True)
        shown = [
            f"error: {outcome}" if isinstance(outcome, Exception) else outcome
            for outcome in outcomes
        ]
        stamp_iteration(loop, f"main: gather gave {', '.join(shown)}")

    loop.run_until_complete(main())
    print(f"iterations: {loop.iteration}")


@section
def event_set_wakes_every_waiter_in_order(loop):
    event = asyncio.Event()

    async def waiter(name, delay):
        await asyncio.sleep(delay)
        stamp_iteration(loop, f"{name}: wait")
        await event.wait()
        stamp_iteration(loop, f"{name}: woke; is_set {event.is_set()}")

    async def main():
        # Created a, b, c; waiting in the order c, a, b.
        for name, delay in (("a", 0.2), ("b", 0.3), ("c", 0.1)):
            loop.create_task(waiter(name, delay))
        await asyncio.sleep(1.0)
        stamp_iteration(loop, f"main: set {state(event)}")
        event.set()
        # Cleared before the woken tasks run: they return all the same.
        event.clear()
        stamp_iteration(loop, f"main: cleared {state(event)}")
        await asyncio.sleep(0)
        stamp_iteration(loop, f"main: resumed {state(event)}")

    loop.run_until_complete(main())
    print(f"iterations: {loop.iteration}")


@section
def event_wait_when_set_does_not_wait(loop):
    event = asyncio.Event()

    async def main():
        event.set()
        stamp_iteration(loop, f"main: wait on {state(event)}")
        await event.wait()
        stamp_iteration(loop, "main: waited")
        await event.wait()
        stamp_iteration(loop, "main: waited again")

    loop.run_until_complete(main())
    print(f"iterations: {loop.iteration}")


def lock_user(loop, lock, name, delay, hold):
    """Ask for `lock` after `delay` seconds, hold it `hold` seconds."""

    async def user():
        await asyncio.sleep(delay)
        stamp_iteration(loop, f"{name}: acquire {state(lock)}")
        async with lock:
            stamp_iteration(loop, f"{name}: holds it")
            await asyncio.sleep(hold)
            stamp_iteration(loop, f"{name}: release")

    return user()


@section
def lock_serves_waiters_in_order(loop):
    lock = asyncio.Lock()

    async def main():
        # Created a, b, c, d; asking in the order a, c, d, b.
        tasks = [
            loop.create_task(lock_user(loop, lock, name, delay, 1.0))
            for name, delay in (("a", 0.0), ("b", 0.3), ("c", 0.1), ("d", 0.2))
        ]
        for task in tasks:
            await task
        stamp_iteration(loop, f"main: all done {state(lock)}")

    loop.run_until_complete(main())
    print(f"iterations: {loop.iteration}")


@section
def lock_no_barging(loop):
    lock = asyncio.Lock()

    async def barger():
        stamp_iteration(loop, f"x: acquire {state(lock)}")
        async with lock:
            stamp_iteration(loop, "x: holds it")

    async def holder():
        await lock.acquire()
        stamp_iteration(loop, "a: holds it")
        await asyncio.sleep(1.0)
        # x's first step is queued before the wake-up of w, which release
        # queues: x asks while the lock is free and w has not run yet.
        x = loop.create_task(barger())
        lock.release()
        stamp_iteration(loop, f"a: created x, released {state(lock)}")
        return x

    async def main():
        a = loop.create_task(holder())
        w = loop.create_task(lock_user(loop, lock, "w", 0.5, 1.0))
        x = await a
        await w
        await x
        stamp_iteration(loop, f"main: all done {state(lock)}")

    loop.run_until_complete(main())
    print(f"iterations: {loop.iteration}")


@section
def semaphore_two_in_others_wait_in_order(loop):
    semaphore = asyncio.Semaphore(2)

    async def user(name, delay, hold):
        await asyncio.sleep(delay)
        stamp_iteration(loop, f"{name}: acquire {state(semaphore)}")
        async with semaphore:
            stamp_iteration(loop, f"{name}: in")
            await asyncio.sleep(hold)
            stamp_iteration(loop, f"{name}: out")

    async def main():
        # a and b get in at once; c, d, e ask in the order d, e, c.
        users = (
            ("a", 0.0, 1.0),
            ("b", 0.0, 2.5),
            ("c", 0.3, 1.0),
            ("d", 0.1, 1.0),
            ("e", 0.2, 1.0),
        )
        tasks = [loop.create_task(user(*args)) for args in users]
        for task in tasks:
            await task
        stamp_iteration(loop, f"main: all done {state(semaphore)}")

    loop.run_until_complete(main())
    print(f"iterations: {loop.iteration}")


@section
def bounded_semaphore_refuses_to_go_over_its_value(loop):
    async def main():
        bounded = asyncio.BoundedSemaphore(2)
        await bounded.acquire()
        print(f"bounded: acquired {state(bounded)}")
        print(f"bounded: release() -> {outcome(bounded.release)} {state(bounded)}")
        # Normalised: asyncio's ValueError, our ReleasedTooManyTimes.
        print(f"bounded: release() -> {outcome(bounded.release)} {state(bounded)}")
        plain = asyncio.Semaphore(2)
        print(f"plain: release() -> {outcome(plain.release)} {state(plain)}")

    loop.run_until_complete(main())


@section
def queue_putters_wait_while_full_in_order(loop):
    queue = asyncio.Queue(maxsize=2)

    async def putter(name, delay):
        await asyncio.sleep(delay)
        stamp_iteration(loop, f"{name}: put; full {queue.full()}")
        await queue.put(name)
        stamp_iteration(loop, f"{name}: put returned; qsize {queue.qsize()}")

    async def main():
        queue.put_nowait("1")
        queue.put_nowait("2")
        # Asking in the order y, x, z.
        for name, delay in (("x", 0.2), ("y", 0.1), ("z", 0.3)):
            loop.create_task(putter(name, delay))
        await asyncio.sleep(1.0)
        for _ in range(5):
            item = await queue.get()
            stamp_iteration(loop, f"main: got {item}; qsize {queue.qsize()}")
            await asyncio.sleep(0.5)

    loop.run_until_complete(main())
    print(f"iterations: {loop.iteration}")


@section
def queue_getters_wait_while_empty_in_order(loop):
    queue = asyncio.Queue(maxsize=2)

    async def getter(name, delay):
        await asyncio.sleep(delay)
        stamp_iteration(loop, f"{name}: get; empty {queue.empty()}")
        item = await queue.get()
        stamp_iteration(loop, f"{name}: got {item}")

    async def main():
        # Created a, b, c; asking in the order c, a, b.
        tasks = [
            loop.create_task(getter(name, delay))
            for name, delay in (("a", 0.2), ("b", 0.3), ("c", 0.1))
        ]
        await asyncio.sleep(1.0)
        stamp_iteration(loop, "main: put 1")
        await queue.put("1")
        await asyncio.sleep(1.0)
        stamp_iteration(loop, "main: put 2, put 3")
        await queue.put("2")
        await queue.put("3")
        for task in tasks:
            await task
        stamp_iteration(loop, "main: all done")

    loop.run_until_complete(main())
    print(f"iterations: {loop.iteration}")


@section
def queue_get_nowait_can_take_the_item_from_a_woken_getter(loop):
    queue = asyncio.Queue()

    async def getter(name):
        stamp_iteration(loop, f"{name}: get")
        item = await queue.get()
        stamp_iteration(loop, f"{name}: got {item}")

    async def main():
        tasks = [loop.create_task(getter(name)) for name in ("g1", "g2")]
        await asyncio.sleep(1.0)
        # The put wakes g1 but does not hand it the item.
        queue.put_nowait("x")
        taken = queue.get_nowait()
        stamp_iteration(loop, f"main: put x, then took {taken}")
        for item in ("y", "z"):
            await asyncio.sleep(1.0)
            queue.put_nowait(item)
            stamp_iteration(loop, f"main: put {item}")
        for task in tasks:
            await task
        stamp_iteration(loop, "main: all done")

    loop.run_until_complete(main())
    print(f"iterations: {loop.iteration}")


@section
def queue_join_waits_for_every_task_done(loop):
    queue = asyncio.Queue(maxsize=2)

    async def worker():
        for _ in range(3):
            item = await queue.get()
            stamp_iteration(loop, f"worker: got {item}")
            await asyncio.sleep(0.5)
            queue.task_done()
            stamp_iteration(loop, f"worker: task_done {item}")

    async def main():
        stamp_iteration(loop, "main: join an empty queue")
        await queue.join()
        stamp_iteration(loop, "main: joined")
        loop.create_task(worker())
        for item in ("1", "2", "3"):
            await queue.put(item)
            stamp_iteration(loop, f"main: put {item}")
        stamp_iteration(loop, "main: join")
        await queue.join()
        stamp_iteration(loop, f"main: joined; qsize {queue.qsize()}")

    loop.run_until_complete(main())
    print(f"iterations: {loop.iteration}")


@section
def invalid_calls(loop):
    async def main():
        lock = asyncio.Lock()
        print(f"lock: release() unlocked -> {outcome(lock.release)}")
        await lock.acquire()
        print(f"lock: release() locked -> {outcome(lock.release)}")
        print(f"lock: release() again -> {outcome(lock.release)}")

        condition = asyncio.Condition()
        print(f"condition: notify() unlocked -> {outcome(condition.notify)}")
        try:
            await condition.wait()
            waited = "ok"
        except RuntimeError as error:
            waited = type(error).__name__
        print(f"condition: wait() unlocked -> {waited}")

        queue = asyncio.Queue(maxsize=1)
        print(f"queue: task_done() -> {outcome(queue.task_done)}")
        print(f"queue: put_nowait(1) -> {outcome(lambda: queue.put_nowait(1))}")
        print(f"queue: put_nowait(2) -> {outcome(lambda: queue.put_nowait(2))}")
        print(f"queue: get_nowait() -> {outcome(queue.get_nowait)}")
        print(f"queue: get_nowait() -> {outcome(queue.get_nowait)}")
        print(f"queue: task_done() -> {outcome(queue.task_done)}")
        print(f"queue: task_done() -> {outcome(queue.task_done)}")

    loop.run_until_complete(main())


section.run(NeverWaitingSelector)
