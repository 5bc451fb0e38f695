"""asyncio's cost of crossing threads, to set beside stage 4's `threads`
benchmark.

threadsafe, per round trip
    A loop runs for ever in a worker thread; this thread calls
    ``asyncio.run_coroutine_threadsafe(answer(), loop).result()`` 10^4
    times, ``answer`` returning at once.

executor, per call
    A coroutine on a loop in this thread awaits
    ``loop.run_in_executor(None, noop)`` 10^3 times in a row (the default
    pool).

Each case runs several times; the median is printed, with the fastest and
slowest run, in nanoseconds per element. Run it with the Python you want to
measure::

    /usr/bin/python3 crates/04-futures-tasks/benches/asyncio_threads.py
"""

import asyncio
import platform
import statistics
import sys
import threading
import time

ROUND_TRIPS = 10_000
CALLS = 1_000


async def answer():
    return 1


def noop():
    return None


def threadsafe(loop, n):
    for _ in range(n):
        asyncio.run_coroutine_threadsafe(answer(), loop).result()


async def executor(n):
    loop = asyncio.get_running_loop()
    for _ in range(n):
        await loop.run_in_executor(None, noop)


def measure(run, n, times):
    per_element = []
    for _ in range(times):
        start = time.perf_counter_ns()
        run(n)
        per_element.append((time.perf_counter_ns() - start) / n)
    return statistics.median(per_element), min(per_element), max(per_element)


def main():
    print(
        f"asyncio on {platform.python_implementation()} {platform.python_version()}, "
        f"{sys.platform}: ns per element, median (min-max) of the runs"
    )
    print(f"{'case':>10}  {'elements':>9}  {'runs':>4}  {'ns per element':>24}")

    worker = asyncio.new_event_loop()
    thread = threading.Thread(target=worker.run_forever)
    thread.start()
    threadsafe(worker, 100)  # warm up
    median, low, high = measure(lambda n: threadsafe(worker, n), ROUND_TRIPS, 7)
    print(f"{'threadsafe':>10}  {ROUND_TRIPS:>9}  {7:>4}  {f'{median:.0f} ({low:.0f}-{high:.0f})':>24}")
    worker.call_soon_threadsafe(worker.stop)
    thread.join()
    worker.close()

    loop = asyncio.new_event_loop()
    loop.run_until_complete(executor(100))  # warm up: the pool's threads
    median, low, high = measure(lambda n: loop.run_until_complete(executor(n)), CALLS, 7)
    print(f"{'executor':>10}  {CALLS:>9}  {7:>4}  {f'{median:.0f} ({low:.0f}-{high:.0f})':>24}")
    loop.close()


if __name__ == "__main__":
    main()
