"""asyncio's cost per timer, to set beside stage 2's `timers` benchmark.

What it measures, per timer, for 10^3, 10^4, 10^5 and 10^6 timers, on
asyncio's own event loop (CPython's ``BaseEventLoop``: its ``call_at``, its
heap, its ``_run_once``), with the deadlines the Rust benchmark uses (the same
xorshift64 and seed: between 1 ns and 60 s from now):

insert+fire
    ``loop.call_at(when, noop)`` for every deadline, one more ``call_at``
    after all of them that stops the loop, then ``loop.run_forever()``: the
    loop sleeps from one deadline to the next and runs each callback, one
    iteration per deadline, until the last one stops it.

    Firing a minute of timers for real would take a minute a run, so this
    runs on a virtual clock: a subclass of asyncio's selector loop whose
    ``time()`` reads a virtual clock, with a selector whose ``select(timeout)``
    moves that clock forward by ``timeout`` at once instead of waiting.
    Everything else is asyncio's unchanged code. The Rust benchmark does the
    same with ``VirtualClock``.

insert+cancel
    ``loop.call_later(delay, noop)`` for every delay, ``handle.cancel()`` for
    every handle, one iteration of the loop (more than half of its schedule is
    cancelled, so asyncio rebuilds its heap without them), and freeing the
    handles. No waiting is needed: this runs on an unmodified loop from
    ``asyncio.new_event_loop()``, on the real clock.

Each measurement is repeated (fewer times for larger n) and the median is
printed, in nanoseconds per timer; building the deadlines and the loop is not
timed. Python's cyclic garbage collector stays on, as in a real program
(``--no-gc`` turns it off while timing).

Run it, from the repository's root, with the Python you want to measure::

    python3 crates/02-timed-events/benches/asyncio_timers.py
    python3 crates/02-timed-events/benches/asyncio_timers.py --max 100000 --no-gc
    python3 crates/02-timed-events/benches/asyncio_timers.py --min 1000000

10^6 timers take tens of seconds; ``--max`` stops earlier, and ``--min``
skips the smaller sizes.
"""

import argparse
import asyncio
import gc
import platform
import selectors
import statistics
import sys
import time

SPREAD_NANOS = 60_000_000_000
SEED = 0x9E37_79B9_7F4A_7C15
MASK = (1 << 64) - 1
SIZES = (1_000, 10_000, 100_000, 1_000_000)


def deadlines(n):
    """n deadlines in nanoseconds, 1 ns to 60 s: timers.rs's xorshift64."""
    state = SEED
    out = []
    for _ in range(n):
        state ^= (state << 13) & MASK
        state ^= state >> 7
        state ^= (state << 17) & MASK
        out.append(1 + state % SPREAD_NANOS)
    return out


def noop():
    pass


class VirtualClock:
    """Seconds that move only when the selector is asked to wait."""

    def __init__(self):
        self.now = 0.0


class VirtualSelector(selectors.DefaultSelector):
    """A selector that never waits: a timeout moves the virtual clock."""

    def __init__(self, clock):
        super().__init__()
        self._clock = clock

    def select(self, timeout=None):
        if timeout is None:
            raise RuntimeError("nothing scheduled: the loop would wait forever")
        if timeout > 0:
            self._clock.now += timeout
        return []


class VirtualLoop(asyncio.SelectorEventLoop):
    """asyncio's selector event loop, on a virtual clock."""

    def __init__(self):
        self._virtual_clock = VirtualClock()
        super().__init__(VirtualSelector(self._virtual_clock))

    def time(self):
        return self._virtual_clock.now


def insert_fire(whens):
    """ns for call_at of every deadline (seconds), then firing them all."""
    loop = VirtualLoop()
    call_at = loop.call_at
    stop_at = max(whens) + 1e-3
    start = time.perf_counter_ns()
    for when in whens:
        call_at(when, noop)
    call_at(stop_at, loop.stop)
    loop.run_forever()
    elapsed = time.perf_counter_ns() - start
    assert not loop._scheduled and not loop._ready, "every timer fired"
    loop.close()
    return elapsed


def insert_cancel(delays):
    """ns for call_later of every delay (seconds), cancel, and cleanup."""
    loop = asyncio.new_event_loop()
    call_later = loop.call_later
    start = time.perf_counter_ns()
    handles = [call_later(delay, noop) for delay in delays]
    for handle in handles:
        handle.cancel()
    loop.call_soon(loop.stop)
    loop.run_forever()  # one iteration: drops the cancelled timers
    del handles
    elapsed = time.perf_counter_ns() - start
    assert not loop._scheduled, "the loop dropped every cancelled timer"
    loop.close()
    return elapsed


def repeats(n):
    return {1_000: 15, 10_000: 9, 100_000: 5}.get(n, 3)


def measure(run, arg, n, times, gc_on):
    per_timer = []
    for _ in range(times):
        gc.collect()
        if not gc_on:
            gc.disable()
        try:
            per_timer.append(run(arg) / n)
        finally:
            gc.enable()
    return statistics.median(per_timer), min(per_timer), max(per_timer)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--min", type=int, default=SIZES[0], help="smallest n (default 10^3)")
    parser.add_argument("--max", type=int, default=SIZES[-1], help="largest n (default 10^6)")
    parser.add_argument("--no-gc", action="store_true", help="turn the cyclic GC off while timing")
    args = parser.parse_args()

    gc_on = not args.no_gc
    print(
        f"asyncio on {platform.python_implementation()} {platform.python_version()}, "
        f"{sys.platform}, GC {'on' if gc_on else 'off'}: ns per timer, median (min-max) of the runs"
    )
    print(f"{'n':>9}  {'runs':>4}  {'insert+fire':>24}  {'insert+cancel':>24}")
    for n in SIZES:
        if not args.min <= n <= args.max:
            continue
        nanos = deadlines(n)
        seconds = [d / 1e9 for d in nanos]
        times = repeats(n)
        fire = measure(insert_fire, seconds, n, times, gc_on)
        cancel = measure(insert_cancel, seconds, n, times, gc_on)
        cells = [f"{mid:8.0f} ({low:.0f}-{high:.0f})" for mid, low, high in (fire, cancel)]
        print(f"{n:>9}  {times:>4}  {cells[0]:>24}  {cells[1]:>24}", flush=True)


if __name__ == "__main__":
    main()
