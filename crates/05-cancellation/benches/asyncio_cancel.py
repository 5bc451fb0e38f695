"""asyncio's cost of cancelling and of timeouts, to set beside stage 5's
`cancel` benchmark.

What it measures, on asyncio's own event loop (``asyncio.new_event_loop()``,
on the real clock: no timer here ever fires), the three cases the Rust
benchmark measures, with the same sizes:

cancel_reap, per task
    A coroutine running in a task calls
    ``asyncio.create_task(asyncio.sleep(3600))`` 10^5 times, lets every
    task start (one ``await asyncio.sleep(0)``: their first steps were
    queued first, so each has set its timer by then), cancels every one
    (``task.cancel()``), then awaits each in turn, catching its
    ``CancelledError``. One element is one task's whole cancelled life:
    creating it, its first step (the timer set), the cancel, the step that
    throws it in, the timer cancelled, its awaiter told, the task freed.

cancel_reap_gather, per task
    The same, reaped with one ``await asyncio.gather(*tasks,
    return_exceptions=True)`` instead of one ``await`` after the other.

timeout_ready, per timeout
    One task, 10^5 times in a row: ``async with asyncio.timeout(10): await
    done``, ``done`` being a future whose result is set, so the ``await``
    answers at once and the task never suspends. The scope sets a timer
    (``loop.call_at``) as it enters and cancels it as it leaves.

wait_for_fast, per call
    One task, 10^5 times in a row: ``await asyncio.wait_for(answer(), 10)``,
    ``answer`` returning at once. asyncio's ``wait_for`` (3.11) makes a task
    of the coroutine, sets a timer and a waiter future, and suspends the
    caller until the inner task's done-callback releases it: several turns
    of the loop per call. (From 3.12 on it is ``async with timeout(..):
    await task``: a task still, and a timer, fewer turns.)

Each run is one ``loop.run_until_complete(main())`` on one loop, made once
and reused from run to run (as the Rust benchmark reuses its loop); its time
is divided by the number of elements. Each case runs several times and the
median is printed, with the fastest and slowest run, in nanoseconds per
element. Before any timing, a small run of each case checks that it does
what it says (every sleeper started, and ended cancelled). Python's cyclic
garbage collector stays on, as in a real program (``--no-gc`` turns it off
while timing). ``asyncio.timeout`` needs Python 3.11 or later.

Run it, from the repository's root, with the Python you want to measure::

    /usr/bin/python3 crates/05-cancellation/benches/asyncio_cancel.py
    /usr/bin/python3 crates/05-cancellation/benches/asyncio_cancel.py --quick

The full run takes some tens of seconds; ``--quick`` runs a tenth of the
elements, three times each: enough to see that it works, not to publish.
"""

import asyncio
import sys
from pathlib import Path

# Stage 4's script times its cases the same way: its `run_cases` is ours.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "04-futures-tasks" / "benches"))
from asyncio_tasks import run_cases  # noqa: E402

TASKS = 100_000
ITERATIONS = 100_000
HOUR = 3600
TIMEOUT = 10


async def spawn_sleepers(n):
    """n tasks that sleep an hour, every one started (its timer set)."""
    tasks = [asyncio.create_task(asyncio.sleep(HOUR)) for _ in range(n)]
    # Their first steps were queued before this task's next one.
    await asyncio.sleep(0)
    return tasks


async def cancel_reap(n):
    """Cancel n started sleepers, then await each until it ends."""
    tasks = await spawn_sleepers(n)
    for task in tasks:
        task.cancel()
    for task in tasks:
        try:
            await task
        except asyncio.CancelledError:
            pass
        else:
            raise AssertionError("a cancelled sleeper ends cancelled")


async def cancel_reap_gather(n):
    """Cancel n started sleepers, then gather them all."""
    tasks = await spawn_sleepers(n)
    for task in tasks:
        task.cancel()
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    assert len(outcomes) == n


async def timeout_ready(n):
    """n timeout scopes in a row, each around an await that answers at once."""
    done = asyncio.get_running_loop().create_future()
    done.set_result(1)
    for _ in range(n):
        async with asyncio.timeout(TIMEOUT):
            await done


async def answer():
    return 1


async def wait_for_fast(n):
    """n wait_for calls in a row, each around a coroutine that returns at once."""
    for _ in range(n):
        await asyncio.wait_for(answer(), TIMEOUT)


CASES = (
    # name, coroutine function, elements per run, runs
    ("cancel_reap", cancel_reap, TASKS, 7),
    ("cancel_reap_gather", cancel_reap_gather, TASKS, 7),
    ("timeout_ready", timeout_ready, ITERATIONS, 7),
    ("wait_for_fast", wait_for_fast, ITERATIONS, 7),
)


async def check(n):
    """What the cases rely on, untimed: every sleeper has started after one
    sleep(0), and ends cancelled; the other cases answer as they should."""
    tasks = await spawn_sleepers(n)
    assert all(task._fut_waiter is not None for task in tasks), "a sleeper did not start"
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    assert all(task.cancelled() for task in tasks), "a sleeper did not end cancelled"
    await timeout_ready(n)
    assert await asyncio.wait_for(answer(), TIMEOUT) == 1


def main():
    if sys.version_info < (3, 11):
        sys.exit("asyncio.timeout needs Python 3.11 or later")
    run_cases(__doc__.split("\n\n")[0], CASES, check=check)


if __name__ == "__main__":
    main()
