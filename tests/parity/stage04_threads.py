"""Stage 4 parity, among threads: CPython's asyncio with real threads.

Each section runs asyncio's own loop, on the real clock, in a worker thread
or in this one, as a program would: `call_soon_threadsafe`,
`run_coroutine_threadsafe` and `run_in_executor`. Nothing here is timed;
each section prints outcomes in the order they are seen, and
tests/parity_stage04_threads.rs runs the same cases on our Rust loop
(crate stage04-futures-tasks) and compares them line by line. An
exception is printed as its message, which is what our panics carry.
"""

import asyncio
import threading

from virtual_asyncio import NeverWaitingSelector, Sections

section = Sections()


def loop_in_a_thread():
    """A new loop, running for ever in a worker thread, and that thread."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever)
    thread.start()
    return loop, thread


def stop(loop, thread):
    loop.call_soon_threadsafe(loop.stop)
    thread.join()
    loop.close()


@section
def call_soon_threadsafe_order_from_one_thread(_):
    loop, thread = loop_in_a_thread()
    ran = []
    for n in range(5):
        loop.call_soon_threadsafe(ran.append, n)
    stop(loop, thread)
    print("ran:", " ".join(str(n) for n in ran))


@section
def run_coroutine_threadsafe_result_error_timeout(_):
    loop, thread = loop_in_a_thread()

    async def answer():
        await asyncio.sleep(0)
        return 42

    async def fail():
        await asyncio.sleep(0)
        raise RuntimeError("no notification today")

    async def never():
        await loop.create_future()

    print("result:", asyncio.run_coroutine_threadsafe(answer(), loop).result())
    try:
        asyncio.run_coroutine_threadsafe(fail(), loop).result()
    except RuntimeError as error:
        print("error:", error)
    waiting = asyncio.run_coroutine_threadsafe(never(), loop)
    try:
        waiting.result(timeout=0)
    except TimeoutError as error:
        print("timeout:", type(error).__name__)
    # Cancelled, and the cancellation run to its end before the loop stops
    # (stage 5 cancels; here our loop drops the task when it closes).
    waiting.cancel()
    asyncio.run_coroutine_threadsafe(asyncio.sleep(0), loop).result()
    stop(loop, thread)


@section
def run_in_executor_result_and_error(_):
    def fail():
        raise RuntimeError("disk on fire")

    async def main():
        loop = asyncio.get_running_loop()
        print("result:", await loop.run_in_executor(None, lambda: 6 * 7))
        try:
            await loop.run_in_executor(None, fail)
        except RuntimeError as error:
            print("error:", error)

    asyncio.run(main())


section.run(NeverWaitingSelector)
