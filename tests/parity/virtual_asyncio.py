"""What the asyncio parity scripts share: CPython's own event loop on a
virtual clock, and a way to print named sections for the Rust tests to compare.

Nothing here models our Rust loop. Each script runs its cases on the real
`asyncio.SelectorEventLoop` of the python3 that runs it; only the loop's clock
and the selector's wait are replaced, so that runs are instant and times exact.
"""

import asyncio
import selectors


class VirtualClock:
    """Whole nanoseconds, so that waiting adds no float rounding of its own."""

    def __init__(self):
        self.nanos = 0

    def read(self):
        # A real clock has moved on by the time it is read again. Without
        # this, timers set one after another with the same delay would share
        # one `when`, and heapq would not keep them in order (see stage 2's
        # section same_when_heap_order): we would be testing our clock, not
        # asyncio.
        self.nanos += 1
        return self.nanos / 1e9

    def advance(self, seconds):
        self.nanos += round(seconds * 1e9)


class VirtualClockLoop(asyncio.SelectorEventLoop):
    """asyncio's selector loop, reading the virtual clock. `make_selector`
    takes the clock and returns the selector, which moves the clock when it
    would have waited, and counts `iterations` (`_run_once` calls `select`
    exactly once per iteration)."""

    def __init__(self, make_selector):
        self.clock = VirtualClock()
        super().__init__(make_selector(self.clock))

    def time(self):
        return self.clock.read()

    @property
    def iteration(self):
        return self._selector.iterations


class NeverWaitingSelector(selectors.DefaultSelector):
    """The platform's own selector (it still watches the loop's self-pipe),
    asked with timeout 0; if nothing is ready, it moves the clock on by the
    timeout the loop asked for, as if it had waited that long. `_run_once`
    calls `select` exactly once per iteration, so it counts the iterations.
    No case of the stage 4 scripts ever needs to wait with no timeout, so
    that is an error here."""

    def __init__(self, clock):
        super().__init__()
        self.clock = clock
        self.iterations = 0

    def select(self, timeout=None):
        self.iterations += 1
        if timeout is None:
            raise RuntimeError("nothing ready, nothing scheduled: select() would block forever")
        events = super().select(0)
        if not events:
            self.clock.advance(timeout)
        return events


def stamp(loop, text):
    """The Rust `Transcript::at` format: seconds to the millisecond."""
    print(f"{loop.time():7.3f}  {text}")


def stamp_iteration(loop, text):
    stamp(loop, f"iteration {loop.iteration}: {text}")


class Sections:
    """The cases of a script, each printed as `== name` and then its lines."""

    def __init__(self):
        self.cases = []

    def __call__(self, case):
        """Decorator: add the case; its name names its section."""
        self.cases.append(case)
        return case

    def run(self, make_selector):
        for case in self.cases:
            print(f"== {case.__name__}")
            # A fresh loop per section: its clock and iterations start at 0.
            loop = VirtualClockLoop(make_selector)
            try:
                case(loop)
            finally:
                loop.close()
