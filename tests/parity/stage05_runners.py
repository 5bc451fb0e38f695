"""Stage 5 parity, the runner's end: CPython's `asyncio.Runner` (runners.py:
`Runner.run`, `Runner.close`, `_cancel_all_tasks`) on a virtual clock.

Each section hands the runner its loop through `loop_factory`: the real
`asyncio.SelectorEventLoop` with only its clock and its wait replaced
(virtual_asyncio's `NeverWaitingSelector`). `with Runner(...) as runner:
runner.run(main())` is what 3.11's `asyncio.run(main())` does, on a loop of
its own making. Ctrl-C is a real SIGINT, sent to this process by
`os.kill` from a callback at 1 s. tests/parity_stage05_runners.rs runs the
same cases on our `run` and `Runner` and compares them section by section,
line by line.

What asyncio and ours each say in their own words is printed in agreed
words on both sides: the runner's report of a task that failed in its
clean-up ("unhandled exception during asyncio.run() shutdown" here,
"... during run() shutdown" in ours), and the end of a run that Ctrl-C
interrupted (`KeyboardInterrupt` here, `RunnerError::Interrupted` in ours).

After Ctrl-C, lines count iterations from main's cancellation; the Rust
test says why (asyncio runs its SIGINT handler inside the callback that
sent the signal). And no iteration here prints two lines from tasks that
`_cancel_all_tasks` cancels: it cancels them in the order of a set, which
asyncio leaves undefined.
"""

import asyncio
import os
import signal

from virtual_asyncio import NeverWaitingSelector, Sections, stamp, stamp_iteration

section = Sections()

SHUTDOWN_MESSAGE = "unhandled exception during asyncio.run() shutdown"


def ended(task):
    """How a task ended, in the words the Rust test prints."""
    if not task.done():
        return "pending"
    if task.cancelled():
        return "cancelled"
    if task.exception() is not None:
        return f"failed: {task.exception()}"
    return f"result {task.result()}"


def hear_reports(loop, stamped):
    """Print each report to the loop's exception handler, stamped by
    `stamped`: a task that failed in the runner's clean-up in agreed words,
    anything else as asyncio words it (which ours never prints)."""

    def handler(_, context):
        if context["message"] == SHUTDOWN_MESSAGE:
            name, error = context["task"].get_name(), context["exception"]
            stamped(loop, f"report: unhandled exception during shutdown, task {name}: {error}")
        else:
            stamped(loop, f"report: {context['message']}")

    loop.set_exception_handler(handler)


@section
def run_cancels_what_main_left(loop):
    hear_reports(loop, stamp_iteration)
    tasks = []

    async def saver():
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            stamp_iteration(loop, "saver: cancelled; saves for 0.5 s")
            await asyncio.sleep(0.5)
            stamp_iteration(loop, "saver: saved; passes it on")
            raise

    async def failing():
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            # Silent when cancelled: saver speaks in that iteration.
            await asyncio.sleep(0.25)
            stamp_iteration(loop, "failing: fails in its clean-up")
            raise ValueError("disk full")

    async def main():
        tasks.append(loop.create_task(saver(), name="saver"))
        tasks.append(loop.create_task(failing(), name="failing"))
        await asyncio.sleep(1)
        stamp_iteration(loop, "main: returns 42")
        return 42

    # asyncio.run(main()), on this loop.
    with asyncio.Runner(loop_factory=lambda: loop) as runner:
        value = runner.run(main())
    stamp(loop, f"run: returned {value}")
    stamp(loop, f"saver {ended(tasks[0])}, failing {ended(tasks[1])}")


@section
def ctrl_c_cancels_main_then_every_task(loop):
    # Iterations are counted from m, the one in which main sees its
    # cancellation (see the Rust test).
    seen = None

    def stamp_since(loop, text):
        stamp(loop, f"iteration m+{loop.iteration - seen}: {text}")

    hear_reports(loop, stamp_since)
    tasks = []

    async def worker():
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            stamp_since(loop, "worker: cancelled; flushes for 0.5 s")
            await asyncio.sleep(0.5)
            stamp_since(loop, "worker: flushed; passes it on")
            raise

    async def main():
        tasks.append(asyncio.current_task())
        tasks.append(loop.create_task(worker(), name="worker"))
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            nonlocal seen
            seen = loop.iteration
            cancelling = asyncio.current_task().cancelling()
            stamp(loop, f"iteration m: main: cancelled, cancelling {cancelling}; cleans up for 0.25 s")
            await asyncio.sleep(0.25)
            stamp_since(loop, "main: cleaned up; passes it on")
            raise

    def ctrl_c():
        stamp_iteration(loop, "callback: Ctrl-C")
        os.kill(os.getpid(), signal.SIGINT)

    # What Runner.run asks of SIGINT before it takes it over: Python's own
    # handler (a process started with SIGINT ignored would have none).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    runner = asyncio.Runner(loop_factory=lambda: loop)
    runner.get_loop().call_later(1, ctrl_c)
    try:
        runner.run(main())
        stamp_since(loop, "runner.run: returned")
    except KeyboardInterrupt:
        stamp_since(loop, "runner.run: interrupted")
    runner.close()
    stamp(loop, f"runner closed: main {ended(tasks[0])}, worker {ended(tasks[1])}")


section.run(NeverWaitingSelector)
