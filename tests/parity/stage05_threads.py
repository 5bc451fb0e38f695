"""Stage 5 parity, among threads: CPython's cancellation across threads.

`run_coroutine_threadsafe` runs asyncio's own loop for ever in a worker
thread, on the real clock, as a program would; `run_in_executor` runs on
this thread's loop, on a virtual clock (virtual_asyncio's
`NeverWaitingSelector`), with a function in the default pool. Nothing here
is timed: each section prints outcomes in the order they are seen, each
made certain by a handshake between the threads, and how many times
something ran. tests/parity_stage05_threads.rs runs the same cases on our
stage 5 and compares them line by line.
"""

import asyncio
import concurrent.futures
import queue
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
def run_coroutine_threadsafe_cancelled_from_this_thread(_):
    loop, thread = loop_in_a_thread()
    started = threading.Event()
    said = queue.Queue()  # what the task says, from the loop's thread

    async def sleeper():
        started.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            said.put("task: CancelledError at its sleep; cleans up")
            await asyncio.sleep(0)
            said.put("task: passes it on")
            raise

    future = asyncio.run_coroutine_threadsafe(sleeper(), loop)
    started.wait()
    print("cancel:", future.cancel())
    print(f"cancelled {future.cancelled()}, done {future.done()}")
    try:
        future.result()
    except concurrent.futures.CancelledError as error:
        print("result:", type(error).__name__)
    for _ in range(2):
        print(said.get())
    print("cancel again:", future.cancel())
    stop(loop, thread)
    print("task said nothing more:", said.empty())


@section
def run_coroutine_threadsafe_cancelled_before_it_starts(_):
    loop, thread = loop_in_a_thread()
    blocking, release = threading.Event(), threading.Event()
    said = queue.Queue()

    async def blocker():
        blocking.set()
        release.wait()  # holds the loop's thread

    async def body():
        said.put("body: runs")
        try:
            await asyncio.sleep(0)
        except asyncio.CancelledError:
            said.put("body: CancelledError at its first await")
            raise
        said.put("body: returns")
        return 1

    asyncio.run_coroutine_threadsafe(blocker(), loop)
    blocking.wait()
    # Cancelled before the loop has made its task: the task is made all the
    # same, its first step queued before the cancel.
    future = asyncio.run_coroutine_threadsafe(body(), loop)
    print("cancel:", future.cancel())
    release.set()
    # Answered once everything handed over before it has run.
    asyncio.run_coroutine_threadsafe(asyncio.sleep(0), loop).result()
    while not said.empty():
        print(said.get())
    try:
        future.result()
    except concurrent.futures.CancelledError as error:
        print("result:", type(error).__name__)
    stop(loop, thread)


@section
def run_coroutine_threadsafe_done_cannot_be_cancelled(_):
    loop, thread = loop_in_a_thread()

    async def seven():
        return 7

    future = asyncio.run_coroutine_threadsafe(seven(), loop)
    print("result:", future.result())
    print("cancel:", future.cancel())
    print(f"cancelled {future.cancelled()}, result: {future.result()}")
    stop(loop, thread)


@section
def run_in_executor_cancelled_awaiter_leaves_the_thread_running(loop):
    entered, release = threading.Event(), threading.Event()
    finished = queue.Queue()

    def blocking():
        entered.set()
        release.wait()  # until this thread lets it go
        finished.put("function: ran to its end")
        return 42

    async def awaiter():
        try:
            return await loop.run_in_executor(None, blocking)
        except asyncio.CancelledError:
            print("awaiter: CancelledError")
            raise

    async def main():
        task = loop.create_task(awaiter())
        await asyncio.sleep(0)
        entered.wait()  # the function runs, in the pool
        print("main: cancel awaiter:", task.cancel())
        try:
            await task
        except asyncio.CancelledError:
            print("main: awaiter cancelled")
        print("main: function finished:", not finished.empty())

    loop.run_until_complete(main())
    release.set()
    print(finished.get())
    print("function finished once:", finished.empty())


section.run(NeverWaitingSelector)
