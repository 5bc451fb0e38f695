"""Stage 4 parity: CPython's futures and tasks, on its loop, on a virtual clock.

As in the scripts of stages 2 and 3, every section runs on the real
`asyncio.SelectorEventLoop` of the python3 that runs it, with its real
`Future` and `Task`; only the loop's clock and its wait are replaced, by
virtual_asyncio's `NeverWaitingSelector`.

It prints `== name` for each section, then that section's lines.
tests/parity_stage04.rs runs the same cases on our Rust `Future` and `Task`
(crate stage04-futures-tasks) on stage 3's `SelectorEventLoop`, and compares
them section by section, line by line. Where the two print different things
on purpose (an exception's class and message against a panic's message), the
line printed is a normalised one.
"""

import asyncio

from virtual_asyncio import NeverWaitingSelector, Sections, stamp_iteration

section = Sections()


def outcome(call):
    """What `call()` does: `ok`, the value it returns, or the class of the
    exception it raises (the Rust test prints the same words)."""
    try:
        value = call()
    # CancelledError is a BaseException, not an Exception.
    except (Exception, asyncio.CancelledError) as error:
        return type(error).__name__
    return "ok" if value is None else str(value)


@section
def done_callbacks_in_order_never_inline(loop):
    fut = loop.create_future()

    def callback(name):
        def done(f):
            stamp_iteration(loop, f"callback {name}: result {f.result()}")
            if name == "c":
                stamp_iteration(loop, "callback c: add_done_callback(later)")
                f.add_done_callback(callback("later"))
        return done

    for name in ("a", "b", "c"):
        fut.add_done_callback(callback(name))

    def finish():
        stamp_iteration(loop, "set_result(7)")
        fut.set_result(7)
        stamp_iteration(loop, "set_result returned; add_done_callback(late)")
        fut.add_done_callback(callback("late"))
        stamp_iteration(loop, "add_done_callback returned")

    loop.call_soon(finish)
    loop.call_later(1.0, loop.stop)
    loop.run_forever()
    print(f"iterations: {loop.iteration}")


@section
def set_result_wakes_awaiters_in_order(loop):
    fut = loop.create_future()

    async def waiter(name, delay):
        await asyncio.sleep(delay)
        stamp_iteration(loop, f"{name}: await the future")
        value = await fut
        stamp_iteration(loop, f"{name}: resumed with {value}")

    def set_it():
        stamp_iteration(loop, "timer: set_result(it)")
        fut.set_result("it")

    async def main():
        # Created in one order, awaiting in another: second, third, first.
        tasks = [
            loop.create_task(waiter(name, delay))
            for name, delay in (("first", 0.3), ("second", 0.1), ("third", 0.2))
        ]
        loop.call_later(1.0, set_it)
        for task in tasks:
            await task
        stamp_iteration(loop, "main: all three are done")

    loop.run_until_complete(main())
    print(f"iterations: {loop.iteration}")


@section
def create_task_is_lazy(loop):
    async def child(name):
        stamp_iteration(loop, f"{name}: started")
        await asyncio.sleep(0)
        stamp_iteration(loop, f"{name}: resumed")

    async def main():
        tasks = [loop.create_task(child(name)) for name in ("a", "b", "c")]
        done = ", ".join(str(task.done()) for task in tasks)
        stamp_iteration(loop, f"main: created a, b and c; done: {done}")
        await asyncio.sleep(0)
        stamp_iteration(loop, "main: resumed")
        for task in tasks:
            await task
        stamp_iteration(loop, "main: a, b and c are done")

    loop.run_until_complete(main())
    print(f"iterations: {loop.iteration}")


@section
def sleep_resumes_an_iteration_after_its_timer(loop):
    async def sleepy():
        stamp_iteration(loop, "sleeper: sleep(1.5, result)")
        value = await asyncio.sleep(1.5, "result")
        stamp_iteration(loop, f"sleeper: resumed with {value}")

    loop.run_until_complete(sleepy())
    # Iteration 2 waited 1.5 s and ran the timer, which set the future.
    print(f"iterations: {loop.iteration}")


@section
def invalid_state(loop):
    fut = loop.create_future()
    print(f"pending: result() -> {outcome(fut.result)}")
    print(f"pending: exception() -> {outcome(fut.exception)}")
    print(f"pending: set_result(1) -> {outcome(lambda: fut.set_result(1))}")
    print(f"done: set_result(2) -> {outcome(lambda: fut.set_result(2))}")
    print(f"done: set_exception(...) -> {outcome(lambda: fut.set_exception(ValueError('late')))}")
    print(f"done: cancel() -> {outcome(fut.cancel)}")
    print(f"done: result() -> {outcome(fut.result)}")
    cancelled = loop.create_future()
    print(f"pending: cancel() -> {outcome(cancelled.cancel)}")
    print(f"cancelled: cancel() -> {outcome(cancelled.cancel)}")
    print(f"cancelled: result() -> {outcome(cancelled.result)}")
    print(f"cancelled: exception() -> {outcome(cancelled.exception)}")
    print(f"cancelled: set_result(1) -> {outcome(lambda: cancelled.set_result(1))}")


@section
def task_exception(loop):
    async def fragile():
        stamp_iteration(loop, "fragile: raise")
        raise RuntimeError("the coroutine broke")

    async def main():
        task = loop.create_task(fragile())
        stamp_iteration(loop, "main: await fragile")
        try:
            await task
        except RuntimeError as error:
            # Normalised: the Rust task's exception is its panic's message.
            stamp_iteration(loop, f"main: await raised: {error}")
            same = task.exception() is error
        print(f"fragile done: {task.done()}; its exception is the one raised: {same}")
        await asyncio.sleep(1)
        stamp_iteration(loop, "main: the loop goes on")

    loop.run_until_complete(main())

    async def broken():
        raise RuntimeError("main broke")

    try:
        loop.run_until_complete(broken())
    except RuntimeError as error:
        stamp_iteration(loop, f"run_until_complete raised: {error}")
    print(f"the loop is closed: {loop.is_closed()}")
    print(f"then: {loop.run_until_complete(asyncio.sleep(0.5, 'still running'))}")
    stamp_iteration(loop, "done")


# Not in the brief's list: a future finished while its loop is not running.
# The wake-up of the task awaiting it is queued there and then, as any
# done-callback; a callback queued after it runs after it.
@section
def set_result_outside_the_running_loop(loop):
    fut = loop.create_future()

    async def waiter():
        stamp_iteration(loop, "waiter: await the future")
        value = await fut
        stamp_iteration(loop, f"waiter: resumed with {value}")

    loop.create_task(waiter())
    loop.run_until_complete(asyncio.sleep(0))
    print(f"the loop is stopped after {loop.iteration} iterations: set_result(it), then call_soon(soon)")
    fut.set_result("it")
    loop.call_soon(stamp_iteration, loop, "soon: call_soon")
    loop.call_later(1.0, lambda: (stamp_iteration(loop, "timer: stop"), loop.stop()))
    loop.run_forever()


section.run(NeverWaitingSelector)
