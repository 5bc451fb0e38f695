"""asyncio's cost per task, per switch and per hand-off, to set beside stage 4's
`tasks` benchmark.

What it measures, on asyncio's own event loop (``asyncio.new_event_loop()``,
on the real clock: nothing here sleeps), the three cases the Rust benchmark
measures, with the same sizes:

spawn, per task
    A coroutine running in a task calls ``asyncio.create_task(noop())``
    10^4 times, ``noop`` being ``async def noop(): pass``, then awaits
    ``asyncio.gather(*tasks)``. One element is one task's whole life:
    creating it, its first step queued with ``call_soon``, running the
    coroutine to its end, gather's done-callback, freeing it.

spawn_await_each, per task
    The same tasks, awaited one after the other (``for task in tasks:
    await task``), as the Rust benchmark's ``*_await_each`` rows and the
    Rust runtimes await their join handles: the first ``await`` suspends
    the spawner until the tasks have run; the others find their task done.

yield, per switch
    Two tasks, each ``await asyncio.sleep(0)`` 5*10^5 times: 10^6 switches
    in all. One element is one ``sleep(0)``: the task yields to the loop and
    the loop runs the next task's step. Every iteration of the loop runs
    both tasks and calls the selector once with a zero timeout.

set_result, per hand-off
    A relay between the main task and a server task, 10^5 hand-offs in all:
    the main task makes a fresh future (``loop.create_future()``), sets the
    server's future with it (``fut.set_result``), and awaits its own; the
    server resumes, makes a fresh future, sets the main task's with it, and
    awaits that one. One element is one hand-off, from ``set_result`` to the
    awaiting task resumed with the value; a round trip is two.

Each run is one ``loop.run_until_complete(main())`` on one loop, made once
and reused from run to run (as the Rust benchmark reuses its loop); its time
is divided by the number of elements. Each case runs several times and the
median is printed, with the fastest and slowest run, in nanoseconds per
element. Python's cyclic garbage collector stays on, as in a real program
(``--no-gc`` turns it off while timing).

Run it, from the repository's root, with the Python you want to measure::

    /usr/bin/python3 crates/04-futures-tasks/benches/asyncio_tasks.py
    /usr/bin/python3 crates/04-futures-tasks/benches/asyncio_tasks.py --quick

The full run takes about ten seconds, most of it the 10^6 switches;
``--quick`` runs a tenth of the elements, three times each, in about a
second: enough to see that it works, not to publish.
"""

import argparse
import asyncio
import gc
import platform
import statistics
import sys
import time

TASKS = 10_000
SWITCHES = 1_000_000
HAND_OFFS = 100_000


async def noop():
    pass


async def spawn(n):
    """create_task n no-op coroutines, then gather them all."""
    tasks = [asyncio.create_task(noop()) for _ in range(n)]
    values = await asyncio.gather(*tasks)
    assert len(values) == n


async def spawn_await_each(n):
    """create_task n no-op coroutines, then await each in turn."""
    tasks = [asyncio.create_task(noop()) for _ in range(n)]
    for task in tasks:
        await task


async def yielder(yields):
    for _ in range(yields):
        await asyncio.sleep(0)


async def switch(n):
    """Two tasks, each yielding n // 2 times."""
    first = asyncio.create_task(yielder(n // 2))
    second = asyncio.create_task(yielder(n // 2))
    await asyncio.gather(first, second)


async def serve(inbox, rounds):
    """The server's side of the relay: take a future, answer with a new one."""
    loop = asyncio.get_running_loop()
    for _ in range(rounds):
        reply = await inbox
        inbox = loop.create_future()
        reply.set_result(inbox)


async def relay(n):
    """n hand-offs: n // 2 round trips between this task and a server."""
    loop = asyncio.get_running_loop()
    rounds = n // 2
    server_inbox = loop.create_future()
    server = asyncio.create_task(serve(server_inbox, rounds))
    for _ in range(rounds):
        mine = loop.create_future()
        server_inbox.set_result(mine)
        server_inbox = await mine
    await server


CASES = (
    # name, coroutine function, elements per run, runs
    ("spawn", spawn, TASKS, 15),
    ("spawn_await_each", spawn_await_each, TASKS, 15),
    ("yield", switch, SWITCHES, 5),
    ("set_result", relay, HAND_OFFS, 7),
)


def measure(loop, case, n, times, gc_on):
    """ns per element of `times` runs of case(n): median, min, max."""
    per_element = []
    for _ in range(times):
        gc.collect()
        if not gc_on:
            gc.disable()
        try:
            start = time.perf_counter_ns()
            loop.run_until_complete(case(n))
            elapsed = time.perf_counter_ns() - start
        finally:
            gc.enable()
        per_element.append(elapsed / n)
    return statistics.median(per_element), min(per_element), max(per_element)


def run_cases(description, cases, check=None):
    """Parse the command line, then time each of `cases` (name, coroutine
    function, elements, runs) on one loop and print a line for each; first
    run `check`, if given, to see that the cases do what they say."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--quick", action="store_true", help="a tenth of the elements, three runs each"
    )
    parser.add_argument("--no-gc", action="store_true", help="turn the cyclic GC off while timing")
    args = parser.parse_args()

    gc_on = not args.no_gc
    print(
        f"asyncio on {platform.python_implementation()} {platform.python_version()}, "
        f"{sys.platform}, GC {'on' if gc_on else 'off'}"
        f"{', quick' if args.quick else ''}: ns per element, median (min-max) of the runs"
    )
    width = max(len(name) for name, _, _, _ in cases)
    print(f"{'case':>{width}}  {'elements':>9}  {'runs':>4}  {'ns per element':>24}")
    loop = asyncio.new_event_loop()
    try:
        if check is not None:
            loop.run_until_complete(check(1_000))
        for name, case, n, times in cases:
            if args.quick:
                n, times = n // 10, 3
            mid, low, high = measure(loop, case, n, times, gc_on)
            cell = f"{mid:8.0f} ({low:.0f}-{high:.0f})"
            print(f"{name:>{width}}  {n:>9}  {times:>4}  {cell:>24}", flush=True)
    finally:
        loop.close()


def main():
    run_cases(__doc__.split("\n\n")[0], CASES)


if __name__ == "__main__":
    main()
