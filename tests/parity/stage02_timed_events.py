"""Stage 2 parity: CPython's own asyncio loop, on a virtual clock.

Unlike stage 1's script, nothing here is a model of our loop: every section
runs on the real `asyncio.SelectorEventLoop` of the python3 that runs it. Only
its clock and its wait are replaced, so that runs are instant and times exact:
`time()` reads a counter, and `select(timeout)` moves the counter on by
`timeout` instead of blocking (virtual_asyncio's `NeverWaitingSelector`).

It prints `== name` for each section, then that section's lines.
tests/parity_stage02.rs runs the same cases on our Rust `EventLoop` (crate
stage02-timed-events) and compares them section by section, line by line; for
the section `same_when_heap_order` it checks that the two orders DIFFER.
"""

import asyncio

from virtual_asyncio import NeverWaitingSelector, Sections, VirtualClockLoop, stamp, stamp_iteration


section = Sections()


@section
def call_soon_fifo(loop):
    def first(name, then):
        stamp_iteration(loop, name)
        if then:
            loop.call_soon(second, f"{then}, queued by {name}")

    def second(text):
        stamp_iteration(loop, text)

    loop.call_soon(first, "a", "d")
    loop.call_soon(first, "b", None)
    loop.call_soon(first, "c", "e")
    # Stopping in iteration 1 would end the run before d and e are run: queue
    # the stop from iteration 1, so that it waits behind them.
    loop.call_soon(lambda: loop.call_soon(loop.stop))
    loop.run_forever()


@section
def call_later_order(loop):
    def fire(delay):
        stamp(loop, f"call_later({delay})")

    for delay in (0.3, 0.1, 0.5, 0.2, 0.4):
        loop.call_later(delay, fire, delay)
    loop.call_later(0.6, loop.stop)
    loop.run_forever()


@section
def equal_delays_fifo(loop):
    for n in range(1, 7):
        loop.call_later(0.2, stamp, loop, f"timer {n}")
    loop.call_later(0.3, loop.stop)
    loop.run_forever()


@section
def sleep0_interleaves(loop):
    async def ping(name):
        for step in (1, 2, 3):
            stamp_iteration(loop, f"{name}{step}")
            await asyncio.sleep(0)

    tasks = [loop.create_task(ping(name)) for name in ("a", "b")]
    loop.run_until_complete(asyncio.gather(*tasks))


@section
def negative_delay(loop):
    def start():
        stamp_iteration(loop, "call_later(0, zero), then call_later(-1, negative)")
        loop.call_later(0, stamp_iteration, loop, "zero")
        loop.call_later(-1, stamp_iteration, loop, "negative")
        loop.call_later(0.1, loop.stop)

    loop.call_soon(start)
    loop.run_forever()


@section
def call_later0_after_soon(loop):
    def start():
        stamp_iteration(loop, "call_soon(s1), call_later(0, later), call_soon(s2)")
        loop.call_soon(stamp_iteration, loop, "s1")
        loop.call_later(0, stamp_iteration, loop, "later")
        loop.call_soon(stamp_iteration, loop, "s2")
        loop.call_later(0.1, loop.stop)

    loop.call_soon(start)
    loop.run_forever()


# The test marks its comparison #[ignore]: asyncio.sleep(0) resumes through
# call_soon (a bare `yield`, in Task.__step), our driver through a timer.
@section
def sleep0_vs_call_soon(loop):
    async def sleeper():
        stamp_iteration(loop, "task: sleep(0)")
        await asyncio.sleep(0)
        stamp_iteration(loop, "task: resumed")

    def callback():
        stamp_iteration(loop, "callback: call_soon(x)")
        loop.call_soon(stamp_iteration, loop, "x")

    task = loop.create_task(sleeper())
    loop.call_soon(callback)
    task.add_done_callback(lambda _: loop.stop())
    loop.run_forever()


async def asleep(delay):
    """The source's asleep: two sleeps of half the delay each."""
    await asyncio.sleep(delay / 2)
    await asyncio.sleep(delay - delay / 2)


@section
def scenario_4(loop):
    sleepers, steps, step = 5, 5, 0.1
    print(f"Scenario 4: {sleepers} sleepers, {steps} steps of {step} s each (two events per step)")

    async def sleepy(name):
        for n in range(1, steps + 1):
            await asleep(step)
            stamp(loop, f"{name} step {n}")

    async def main():
        await asyncio.gather(*(sleepy(f"sleepy {n}") for n in range(1, sleepers + 1)))

    loop.run_until_complete(main())


@section
def scenario_9(loop):
    print("Scenario 9: five count() gathered, then one after another")

    async def count(say):
        say("One")
        await asyncio.sleep(1)
        say("Two")
        await asyncio.sleep(2)
        say("Three")

    def say(text):
        stamp(loop, text)

    async def gathered():
        await asyncio.gather(*(count(say) for _ in range(5)))

    loop.run_until_complete(gathered())
    print(f"  gathered: done at {loop.time():.3f} s")

    # A fresh loop, as in the Rust scenario, so that its clock starts at 0.
    one_by_one, quiet = VirtualClockLoop(NeverWaitingSelector), []
    try:
        for _ in range(5):
            one_by_one.run_until_complete(count(quiet.append))
        print(f"  one after another: {len(quiet)} lines, done at {one_by_one.time():.3f} s")
    finally:
        one_by_one.close()


@section
def same_when_heap_order(loop):
    # One `when` for all: heapq orders TimerHandles by `when` alone, so it
    # may hand back equal ones in any order. The Rust test checks that this
    # order is NOT first-in, first-out (ours is).
    for n in range(1, 9):
        loop.call_at(1.0, stamp, loop, f"timer {n}")
    loop.call_at(2.0, loop.stop)
    loop.run_forever()


section.run(NeverWaitingSelector)
