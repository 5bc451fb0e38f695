"""Stage 3 parity: CPython's asyncio loop watching real sockets, on a virtual clock.

As in stage 2's script, every section runs on the real
`asyncio.SelectorEventLoop` of the python3 that runs it, with only its clock
and its wait replaced. But here the sections watch real socket pairs, so the
selector must still really look at the descriptors: `VirtualSelector` is the
platform's own selector (epoll on Linux), asked with timeout 0. If nothing is
ready, it moves the clock on by the timeout the loop asked for, as if it had
waited that long. With no timeout at all (nothing ready, no timer), it blocks
for real, as asyncio does, until a descriptor is ready: in these cases that
is the loop's self-pipe, written by another thread's `call_soon_threadsafe`.

It prints `== name` for each section, then that section's lines.
tests/parity_stage03.rs runs the same cases on our Rust `SelectorLoop` (crate
stage03-read-readiness), on `select(2)` and on `poll(2)`, and compares them
section by section, line by line.
"""

import asyncio
import selectors
import socket
import threading

from virtual_asyncio import NeverWaitingSelector, Sections, stamp, stamp_iteration

# A wait with no timeout that outlasts this has hung: fail instead.
BLOCKING_LIMIT = 30.0


class VirtualSelector(NeverWaitingSelector):
    """The real selector, which never waits for a virtual timeout, and, unlike
    stage 4's, may wait with none.

    It notes the iterations that waited with no timeout, and sets `blocking`
    just before such a wait, so that another thread can act only once the
    loop is really asleep.
    """

    def __init__(self, clock):
        super().__init__(clock)
        self.blocked_in = []
        self.blocking = threading.Event()

    def select(self, timeout=None):
        if timeout is not None:
            return super().select(timeout)
        self.iterations += 1
        self.blocked_in.append(self.iterations)
        self.blocking.set()
        events = selectors.DefaultSelector.select(self, BLOCKING_LIMIT)
        if not events:
            raise RuntimeError(f"select(None) found nothing in {BLOCKING_LIMIT} s: it would block forever")
        return events


section = Sections()


def socket_pair():
    """A connected pair of Unix stream sockets, both non-blocking."""
    ours, theirs = socket.socketpair()
    ours.setblocking(False)
    theirs.setblocking(False)
    return ours, theirs


@section
def level_triggered(loop):
    ours, theirs = socket_pair()
    with ours, theirs:
        fd = ours.fileno()
        calls = 0

        def reader():
            nonlocal calls
            calls += 1
            stamp_iteration(loop, f"reader: recv(1) -> {ours.recv(1)!r}")

        def later():
            try:
                left = repr(ours.recv(1))
            except BlockingIOError:
                left = "none (recv would block)"
            stamp_iteration(loop, f"timer: the reader ran {calls} times; data left: {left}")
            print(f"remove_reader: {loop.remove_reader(fd)}")
            loop.stop()

        print(f"send(b'abc') -> {theirs.send(b'abc')}")
        loop.add_reader(fd, reader)
        loop.call_later(1.0, later)
        loop.run_forever()


@section
def end_of_file(loop):
    ours, theirs = socket_pair()
    with ours, theirs:
        fd = ours.fileno()

        def reader():
            data = ours.recv(16)
            stamp_iteration(loop, f"reader: recv(16) -> {data!r}, {len(data)} bytes: end of file")
            print(f"remove_reader: {loop.remove_reader(fd)}")
            print(f"remove_reader again: {loop.remove_reader(fd)}")

        def close_peer():
            stamp_iteration(loop, "timer: close the peer")
            theirs.close()

        loop.add_reader(fd, reader)
        loop.call_later(0.5, close_peer)
        loop.call_later(1.0, lambda: (stamp_iteration(loop, "timer: stop"), loop.stop()))
        loop.run_forever()


@section
def writer_with_room(loop):
    ours, theirs = socket_pair()
    with ours, theirs:
        fd = ours.fileno()
        calls = 0

        def writer():
            nonlocal calls
            calls += 1
            if calls == 1:
                stamp_iteration(loop, f"writer: send(b'hello') -> {ours.send(b'hello')}")
            else:
                stamp_iteration(loop, "writer: still room, called again")
                print(f"remove_writer: {loop.remove_writer(fd)}")

        def start():
            stamp_iteration(loop, "start: add_writer")
            loop.add_writer(fd, writer)

        def later():
            stamp_iteration(loop, f"timer: the writer ran {calls} times; the peer reads {theirs.recv(16)!r}")
            print(f"remove_writer again: {loop.remove_writer(fd)}")
            loop.stop()

        loop.call_soon(start)
        loop.call_later(1.0, later)
        loop.run_forever()


@section
def threadsafe_wakes_blocked_loop(loop):
    loop_thread = threading.get_ident()
    selector = loop._selector

    def send_from_thread():
        # Only once the loop waits with no timeout: that is what is tested.
        if not selector.blocking.wait(BLOCKING_LIMIT):
            raise RuntimeError("the loop never waited with no timeout")
        print("thread: the loop waits with no timeout; call_soon_threadsafe(woken)")
        loop.call_soon_threadsafe(woken)

    def woken():
        same = threading.get_ident() == loop_thread
        stamp_iteration(loop, f"woken: on the loop's thread: {same}; stop")
        loop.stop()

    threads = []

    def start():
        stamp_iteration(loop, "start: start a thread; nothing else is ready or scheduled")
        thread = threading.Thread(target=send_from_thread)
        thread.start()
        threads.append(thread)

    loop.call_soon(start)
    loop.run_forever()
    for thread in threads:
        thread.join()
    print(f"waited with no timeout in iterations: {selector.blocked_in}")


@section
def order_in_one_iteration(loop):
    ours, theirs = socket_pair()
    with ours, theirs:
        fd = ours.fileno()

        def reader():
            stamp_iteration(loop, f"reader: recv(1) -> {ours.recv(1)!r}")
            loop.remove_reader(fd)

        def timer():
            stamp_iteration(loop, "timer: call_later(0, ...)")
            loop.stop()

        def start():
            # Registered in the opposite order of the order they run in.
            stamp_iteration(loop, "start: call_later(0, timer), add_reader, call_soon(soon)")
            loop.call_later(0, timer)
            loop.add_reader(fd, reader)
            loop.call_soon(stamp_iteration, loop, "soon: call_soon")

        theirs.send(b"x")
        loop.call_soon(start)
        loop.run_forever()


# Not in the brief's list: the order of a callback sent from another thread
# and one queued with call_soon afterwards.
@section
def threadsafe_before_later_call_soon(loop):
    def start():
        thread = threading.Thread(target=loop.call_soon_threadsafe, args=(stamp_iteration, loop, "from the thread"))
        thread.start()
        thread.join()
        stamp_iteration(loop, "start: a thread sent a callback (and ended); now call_soon(soon)")
        loop.call_soon(stamp_iteration, loop, "soon: call_soon")

    loop.call_soon(start)
    loop.call_later(1.0, lambda: (stamp_iteration(loop, "timer: stop"), loop.stop()))
    loop.run_forever()


# Not in the brief's list: a reader found ready, then removed by a callback
# that runs before it in the same iteration.
@section
def reader_removed_before_it_runs(loop):
    ours, theirs = socket_pair()
    with ours, theirs:
        fd = ours.fileno()
        calls = 0

        def reader():
            nonlocal calls
            calls += 1
            stamp_iteration(loop, f"reader: recv(1) -> {ours.recv(1)!r}")

        def remover():
            stamp_iteration(loop, f"remover: remove_reader: {loop.remove_reader(fd)}")

        def later():
            stamp_iteration(loop, f"timer: the reader ran {calls} times")
            loop.stop()

        theirs.send(b"x")
        loop.add_reader(fd, reader)
        loop.call_soon(remover)
        loop.call_later(1.0, later)
        loop.run_forever()


section.run(VirtualSelector)
