"""Stage 5 parity, several tasks at once: CPython's gather and TaskGroup
under cancellation, and one bare future shared as an event, on its loop, on
a virtual clock.

Every section runs on the real `asyncio.SelectorEventLoop` with its real
`gather`, `TaskGroup`, `Event` and `Task.cancel`; only the clock and the
wait are replaced (virtual_asyncio's `NeverWaitingSelector`).
tests/parity_stage05_groups.rs runs the same cases on our stage 5 tasks and
compares them section by section, line by line, each line stamped with the
loop's time and iteration. An exception is printed as its message, which is
what our errors display, or as its class where it has none.
"""

import asyncio

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
    """The bracketed state at the end of an event's `repr`, `[unset,
    waiters:1]`: the rest names its module and address."""
    return "[" + repr(primitive).rsplit(" [", 1)[1][:-1]


def cleans_up(loop, name, delay, clean_up, value):
    """A coroutine that sleeps `delay` s and returns `value`; cancelled, it
    cleans up for `clean_up` s and passes the cancellation on."""

    async def child():
        try:
            await asyncio.sleep(delay)
        except asyncio.CancelledError:
            stamp_iteration(loop, f"{name}: cancelled; cleans up {clean_up} s")
            await asyncio.sleep(clean_up)
            stamp_iteration(loop, f"{name}: passes it on")
            raise
        stamp_iteration(loop, f"{name}: returns {value}")
        return value

    return child()


def children(loop):
    """Children 1, 2 and 3: child n sleeps n s and returns n; cancelled,
    child 3 cleans up for 0.5 s, the others at once."""
    return [
        loop.create_task(cleans_up(loop, f"child {n}", n, clean_up, n))
        for n, clean_up in ((1, 0), (2, 0), (3, 0.5))
    ]


def shown(outcome):
    """One of gather's results: a value, or an exception's class."""
    if isinstance(outcome, BaseException):
        return type(outcome).__name__
    return str(outcome)


@section
def gather_awaiter_cancelled_cancels_every_child(loop):
    async def awaiter(tasks):
        try:
            return await asyncio.gather(*tasks)
        except asyncio.CancelledError:
            stamp_iteration(loop, "awaiter: CancelledError")
            raise

    async def main():
        tasks = children(loop)
        task = loop.create_task(awaiter(tasks))
        await asyncio.sleep(1.5)
        stamp_iteration(loop, f"main: cancel awaiter: {task.cancel()}")
        try:
            await task
        except asyncio.CancelledError:
            stamp_iteration(loop, "main: awaiter cancelled")
        # The first cancelled child ended the gather: child 3 still cleans up.
        line = ", ".join(ended(child) for child in tasks)
        stamp_iteration(loop, f"children: {line}; awaiter {ended(task)}")
        await asyncio.sleep(1)
        line = ", ".join(ended(child) for child in tasks)
        stamp_iteration(loop, f"children: {line}")

    loop.run_until_complete(main())


@section
def gather_awaiter_cancelled_the_children_refuse(loop):
    def refuses(name, delay, value):
        async def refuses():
            try:
                await asyncio.sleep(delay)
            except asyncio.CancelledError:
                stamp_iteration(loop, f"{name}: swallows it, returns {value}")
            return value

        return refuses()

    async def awaiter(tasks):
        try:
            return await asyncio.gather(*tasks)
        except asyncio.CancelledError:
            stamp_iteration(loop, "awaiter: CancelledError all the same")
            raise

    async def main():
        tasks = [loop.create_task(refuses("a", 2, 22)), loop.create_task(refuses("b", 3, 33))]
        task = loop.create_task(awaiter(tasks))
        await asyncio.sleep(1)
        stamp_iteration(loop, f"main: cancel awaiter: {task.cancel()}")
        try:
            await task
        except asyncio.CancelledError:
            stamp_iteration(loop, "main: awaiter cancelled")
        line = ", ".join(ended(child) for child in tasks)
        stamp_iteration(loop, f"children: {line}; awaiter {ended(task)}")

    loop.run_until_complete(main())


@section
def gather_one_child_cancelled_its_siblings_go_on(loop):
    async def main():
        me = asyncio.current_task()
        tasks = children(loop)
        gathering = asyncio.gather(*tasks)
        await asyncio.sleep(0.5)
        stamp_iteration(loop, f"main: cancel child 1: {tasks[0].cancel()}")
        try:
            await gathering
        except asyncio.CancelledError:
            stamp_iteration(loop, f"main: gather raised CancelledError; cancelling {me.cancelling()}")
        await asyncio.sleep(5)
        line = ", ".join(ended(child) for child in tasks)
        stamp_iteration(loop, f"children: {line}")

    loop.run_until_complete(main())


@section
def gather_return_exceptions_a_cancelled_child_is_a_result(loop):
    async def main():
        tasks = children(loop)
        gathering = asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.sleep(0.5)
        stamp_iteration(loop, f"main: cancel child 2: {tasks[1].cancel()}")
        outcomes = await gathering
        stamp_iteration(loop, f"main: gather gave {', '.join(shown(o) for o in outcomes)}")

    loop.run_until_complete(main())


@section
def gather_cancelled_itself_cancels_the_children(loop):
    async def main():
        tasks = children(loop)
        # Cancelled, it raises CancelledError even with return_exceptions
        # (bpo-32684).
        gathering = asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.sleep(1.5)
        stamp_iteration(loop, f"main: cancel the gather: {gathering.cancel()}")
        try:
            await gathering
        except asyncio.CancelledError:
            stamp_iteration(loop, "main: gather raised CancelledError")
        stamp_iteration(loop, f"main: cancel it again: {gathering.cancel()}")
        line = ", ".join(ended(child) for child in tasks)
        stamp_iteration(loop, f"children: {line}")

    loop.run_until_complete(main())


def fails(loop, name, delay):
    """A coroutine that sleeps `delay` s, then fails with `{name} broke`."""

    async def fails():
        await asyncio.sleep(delay)
        stamp_iteration(loop, f"{name}: fails")
        raise ValueError(f"{name} broke")

    return fails()


def member(loop, name, delay, clean_up, value):
    """A group's child: sleeps `delay` s and returns `value`; cancelled, it
    cleans up for `clean_up` s, says so, and passes the cancellation on.
    A group cancels its children in the order of a set (`_tasks`), so each
    speaks only once its clean-up, of a length of its own, is done."""

    async def member():
        try:
            await asyncio.sleep(delay)
        except asyncio.CancelledError:
            await asyncio.sleep(clean_up)
            stamp_iteration(loop, f"{name}: cancelled; cleaned up {clean_up} s")
            raise
        stamp_iteration(loop, f"{name}: returns {value}")
        return value

    return member()


@section
def taskgroup_first_failure_cancels_the_others(loop):
    async def main():
        me = asyncio.current_task()
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(fails(loop, "a", 1))
                group.create_task(fails(loop, "b", 1))
                c = group.create_task(member(loop, "c", 5, 0.5, 3))
                d = group.create_task(member(loop, "d", 6, 0.2, 4))
                try:
                    await asyncio.sleep(10)
                except asyncio.CancelledError:
                    stamp_iteration(loop, "block: CancelledError")
                    raise
        except ExceptionGroup as errors:
            messages = ", ".join(str(error) for error in errors.exceptions)
            stamp_iteration(loop, f"main: {errors}: {messages}")
        stamp_iteration(loop, f"c {ended(c)}, d {ended(d)}; main cancelling {me.cancelling()}")
        # The group took back its cancel of main: main carries on.
        await asyncio.sleep(1)
        stamp_iteration(loop, "main: slept on, not cancelled")

    loop.run_until_complete(main())


@section
def taskgroup_block_fails_cancels_the_children(loop):
    async def main():
        try:
            async with asyncio.TaskGroup() as group:
                a = group.create_task(fails(loop, "a", 1))
                b = group.create_task(member(loop, "b", 5, 0, 2))
                await asyncio.sleep(0.5)
                stamp_iteration(loop, "block: fails")
                raise ValueError("block broke")
        except ExceptionGroup as errors:
            messages = ", ".join(str(error) for error in errors.exceptions)
            stamp_iteration(loop, f"main: {errors}: {messages}")
        stamp_iteration(loop, f"a {ended(a)}, b {ended(b)}")

    loop.run_until_complete(main())


@section
def taskgroup_owner_cancelled_cancels_every_child(loop):
    tasks = []

    async def owner():
        try:
            async with asyncio.TaskGroup() as group:
                tasks.append(group.create_task(member(loop, "a", 5, 0.2, 1)))
                tasks.append(group.create_task(member(loop, "b", 6, 0.5, 2)))
                await asyncio.sleep(10)
        except asyncio.CancelledError:
            stamp_iteration(loop, "owner: CancelledError")
            raise

    async def main():
        task = loop.create_task(owner())
        await asyncio.sleep(1)
        stamp_iteration(loop, f"main: cancel owner: {task.cancel()}")
        try:
            await task
        except asyncio.CancelledError:
            stamp_iteration(loop, "main: owner cancelled")
        line = ", ".join(ended(child) for child in tasks)
        stamp_iteration(loop, f"children: {line}; owner {ended(task)}, cancelling {task.cancelling()}")

    loop.run_until_complete(main())


def waiter(loop, name, wait):
    """A coroutine that awaits `wait()`, and says how that ended."""

    async def waiter():
        try:
            await wait()
        except asyncio.CancelledError:
            stamp_iteration(loop, f"{name}: CancelledError")
            raise
        stamp_iteration(loop, f"{name}: woke")

    return waiter()


def cancellings(tasks):
    """How each of `tasks` ended, and how many cancels it was asked for."""
    return ", ".join(f"{ended(task)} (cancelling {task.cancelling()})" for task in tasks)


@section
def shared_future_one_waiter_cancelled_fails_them_all(loop):
    async def main():
        future = loop.create_future()

        async def wait():
            await future

        tasks = [loop.create_task(waiter(loop, f"waiter {n}", wait)) for n in (1, 2, 3)]
        await asyncio.sleep(1)
        stamp_iteration(loop, f"main: cancel waiter 1: {tasks[0].cancel()}")
        await asyncio.sleep(1)
        stamp_iteration(loop, f"main: future cancelled {future.cancelled()}")
        try:
            future.set_result(None)
        except asyncio.InvalidStateError:
            stamp_iteration(loop, "main: set_result: InvalidStateError")
        for task in tasks:
            try:
                await task
            except asyncio.CancelledError:
                pass
        stamp_iteration(loop, f"waiters: {cancellings(tasks)}")

    loop.run_until_complete(main())


@section
def event_one_waiter_cancelled_the_others_wake(loop):
    async def main():
        event = asyncio.Event()
        tasks = [loop.create_task(waiter(loop, f"waiter {n}", event.wait)) for n in (1, 2, 3)]
        await asyncio.sleep(1)
        stamp_iteration(loop, f"main: cancel waiter 1: {tasks[0].cancel()}")
        await asyncio.sleep(1)
        stamp_iteration(loop, f"main: set {state(event)}")
        event.set()
        for task in tasks:
            try:
                await task
            except asyncio.CancelledError:
                pass
        stamp_iteration(loop, f"waiters: {cancellings(tasks)}")

    loop.run_until_complete(main())


section.run(NeverWaitingSelector)
