"""Stage 1 parity: scenarios 1 and 2 on Python generators, on a virtual clock.

Our own script, written from the source's description of its toy loop. It
prints exactly the lines that the Rust functions `sleep_by_guessing`,
`composition_leaky` and `composition` (crates/01-generator-loop/src/scenarios.rs)
write, and tests/parity_stage01.rs compares the two line by line. The loop
below is the Rust `GuessingLoop` in Python: each round first sleeps until the
earliest time a task asked for, then resumes every pending task once.
"""


class VirtualClock:
    """Time that moves only when the loop sleeps."""

    def __init__(self):
        self.t = 0.0

    def now(self):
        return self.t

    def sleep(self, seconds):
        self.t += seconds


clock = VirtualClock()


def sleep(duration):
    end = clock.now() + duration
    while (now := clock.now()) < end:
        yield end - now
    return f"Sleep {duration} over"


def stamp(text):
    print(f"{clock.now():7.3f}  {text}")


class Task:
    def __init__(self, gen):
        self.gen = gen
        self.due = 0.0


class GuessingLoop:
    def __init__(self):
        self.pending = []
        self.results = {}
        self.completion_order = []
        self.earliest_due = None
        self.rounds = self.resumes = self.early = 0
        self.slept = 0.0

    def create_task(self, gen):
        task = Task(gen)
        self.pending.append(task)
        return task

    def run_once(self):
        if self.earliest_due is not None:
            wait = self.earliest_due - clock.now()
            if wait > 0:
                clock.sleep(wait)
                self.slept += wait
        self.rounds += 1
        earliest, still_pending = None, []
        for task in self.pending:
            now = clock.now()
            self.resumes += 1
            if now < task.due:
                self.early += 1
            try:
                guess = task.gen.send(None)
            except StopIteration as stop:  # the return value rides on it
                self.results[task] = (now, stop.value)
                self.completion_order.append(task)
                continue
            task.due = now + max(guess, 0.0)
            earliest = task.due if earliest is None else min(earliest, task.due)
            still_pending.append(task)
        self.pending = still_pending
        self.earliest_due = earliest

    def run_forever(self):
        while self.pending:
            self.run_once()

    def gather(self, gens):
        tasks = [self.create_task(gen) for gen in gens]
        while any(task not in self.results for task in tasks):
            self.run_once()
        return [self.results[task][1] for task in tasks]

    def report(self):
        print(
            f"  the loop: {self.rounds} rounds, {self.resumes} resumes, "
            f"{self.early} of them early (nothing to do), slept {self.slept:.3f} s"
        )


def scenario_1():
    print("Scenario 1: sleep(3), sleep(2), sleep(1), sleep(4) in one loop")
    loop = GuessingLoop()
    for seconds in (3, 2, 1, 4):
        loop.create_task(sleep(seconds))
    results = []
    while loop.pending:
        loop.run_once()
        for task in loop.completion_order:
            at, value = loop.results[task]
            print(f"{at:7.3f}  {value}")
            results.append(value)
        loop.completion_order.clear()
    print(f"  results, in completion order: {', '.join(results)}")
    loop.report()


PRINTERS = [("First message!", 1), ("Second message!", 1), ("...", 0.25)]


# The source's one-channel style: a generator cannot return a value, so it
# yields it, and `yield from` passes it out like any other yield.
def leaky_sleep(duration):
    end = clock.now() + duration
    while (now := clock.now()) < end:
        yield end - now
    yield f"Sleep {duration} over"


def leaky_print_every_period(msg, period):
    for _ in range(int(3 / period)):
        yield from leaky_sleep(period)
        stamp(msg)
    yield f"Print {period} over"


def one_channel_task(gen, results):
    """The toy loop's rule: a number is a guess, anything else a result."""
    for value in gen:
        if isinstance(value, (int, float)):
            yield value
        else:
            results.append(value)


def scenario_2_leaky():
    print("Scenario 2a: three printers on the one-channel loop (values leak)")
    loop, results = GuessingLoop(), []
    for msg, period in PRINTERS:
        loop.create_task(one_channel_task(leaky_print_every_period(msg, period), results))
    loop.run_forever()
    print(f"  results ({len(results)} values from {len(PRINTERS)} tasks): {', '.join(results)}")
    loop.report()


def print_every_period(msg, period):
    for _ in range(int(3 / period)):
        yield from sleep(period)
        stamp(msg)
    return f"Print {period} over"


def scenario_2():
    print("Scenario 2b: the same printers, results returned and gathered")
    loop = GuessingLoop()
    results = loop.gather(print_every_period(msg, period) for msg, period in PRINTERS)
    print(f"  results, in argument order: {', '.join(results)}")
    loop.report()


for scenario in (scenario_1, scenario_2_leaky, scenario_2):
    clock = VirtualClock()
    scenario()
