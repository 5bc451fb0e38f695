"""asyncio's cost of a round trip through loop.sock_sendall and
loop.sock_recv, to set beside stage 6's `sock` benchmark.

What it measures, on asyncio's own event loop (``asyncio.new_event_loop()``:
a selector loop on epoll, level-triggered, on the real clock), the round
trips the Rust benchmark measures, with the same sizes. An element is one
round trip: the main task sends 64 bytes (``await loop.sock_sendall``) and
receives until 64 have come back (``await loop.sock_recv``); an echo task
on the same loop receives what comes and sends it back, until it has
echoed them all. A run is 10^4 round trips, one after the other, over one
connection made before any run (not timed):

unix, per round trip
    Over a Unix socket pair (``socket.socketpair()``).

tcp, per round trip
    Over a TCP connection on 127.0.0.1, ``TCP_NODELAY`` on both ends (as
    asyncio's transports set it; a strict ping-pong never waits for Nagle's
    algorithm anyway).

Each receive that would block adds a reader (``epoll_ctl``), waits for the
loop to run it, and the reader is removed once it has read: about four
turns of the loop per round trip, as on our loop.

Each run is one ``loop.run_until_complete(round_trips(...))`` on one loop,
made once and reused from run to run (as the Rust benchmark reuses its
loop); its time is divided by the number of round trips. Each case runs
several times and the median is printed, with the fastest and slowest run,
in nanoseconds per round trip. Before any timing, a small run of each case
checks that every byte comes back. Python's cyclic garbage collector stays
on, as in a real program (``--no-gc`` turns it off while timing).

Run it, from the repository's root, with the Python you want to measure::

    /usr/bin/python3 crates/06-socket-io/benches/asyncio_sock.py
    /usr/bin/python3 crates/06-socket-io/benches/asyncio_sock.py --quick

The full run takes some seconds; ``--quick`` runs a tenth of the round
trips, three times each: enough to see that it works, not to publish.
"""

import asyncio
import socket
import sys
from pathlib import Path

# Stage 4's script times its cases the same way: its `run_cases` is ours.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "04-futures-tasks" / "benches"))
from asyncio_tasks import run_cases  # noqa: E402

ROUND_TRIPS = 10_000
MESSAGE = 64


def unix_pair():
    """A connected Unix socket pair, both ends non-blocking."""
    near, far = socket.socketpair()
    near.setblocking(False)
    far.setblocking(False)
    return near, far


def tcp_pair():
    """A TCP connection on 127.0.0.1: the client's end, the server's end,
    both non-blocking, TCP_NODELAY on both."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        near = socket.create_connection(listener.getsockname())
        far, _ = listener.accept()
    for end in (near, far):
        end.setblocking(False)
        end.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return near, far


async def echo(far, n):
    """Send back what comes on `far`, until n round trips' bytes have."""
    loop = asyncio.get_running_loop()
    echoed = 0
    while echoed < n * MESSAGE:
        data = await loop.sock_recv(far, MESSAGE)
        if not data:
            raise AssertionError("the main task closed its end")
        await loop.sock_sendall(far, data)
        echoed += len(data)


async def round_trips(near, far, n):
    """n round trips from `near` to `far` and back; what came back, in the
    last one."""
    loop = asyncio.get_running_loop()
    echoing = loop.create_task(echo(far, n))
    message = bytes(range(MESSAGE))
    got = b""
    for _ in range(n):
        await loop.sock_sendall(near, message)
        got = b""
        while len(got) < MESSAGE:
            data = await loop.sock_recv(near, MESSAGE - len(got))
            if not data:
                raise AssertionError("the echo task closed its end")
            got += data
    await echoing
    return got


#: The connections, made once, before any run.
UNIX = unix_pair()
TCP = tcp_pair()


async def unix(n):
    await round_trips(*UNIX, n)


async def tcp(n):
    await round_trips(*TCP, n)


CASES = (
    # name, coroutine function, elements per run, runs
    ("unix", unix, ROUND_TRIPS, 9),
    ("tcp", tcp, ROUND_TRIPS, 9),
)


async def check(n):
    """What the cases rely on, untimed: every byte comes back, over both
    connections."""
    for near, far in (UNIX, TCP):
        assert await round_trips(near, far, n) == bytes(range(MESSAGE))


def main():
    run_cases(__doc__.split("\n\n")[0], CASES, check=check)


if __name__ == "__main__":
    main()
