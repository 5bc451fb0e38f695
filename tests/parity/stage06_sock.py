"""Stage 6 parity: the loop's socket operations on real TCP sockets on
127.0.0.1, on CPython's loop.

Each section runs on the real `asyncio.SelectorEventLoop` with its real
`sock_connect`, `sock_accept`, `sock_sendall` and `sock_recv`, watching real
sockets through the platform's selector (epoll on Linux, level-triggered),
which waits for real, as asyncio's does. Only the clock is virtual, and it
moves only when a wait finds nothing for as long as the loop asked: then
the case's watchdog, ten seconds away, fires and fails the case instead of
letting it hang. tests/parity_stage06_sock.rs runs the same cases on our
stage 6 loop (stage 5 tasks on the epoll selector) and compares them
section by section, line by line.

Every line says in which iteration of the loop it was printed. Which
iteration an operation ends in depends on two things: the loop (whether it
tries the system call first, how many turns a wake-up takes), which is
what is compared; and the kernel (whether the data, the connection or the
reset has arrived when the loop tries or looks), which must not matter.
So each case waits for the kernel at agreed points, outside the loop
(`settle`: a blocking poll(2) of the socket, which the loop's selector does
not see): after a send, until the peer's socket is readable; before an
accept, until the connection is queued; after a reset, until it has
arrived. Otherwise a loop looks only when it has nothing else to do and
waits for real then (a pending connect or read), so that no look with a
zero timeout can find the kernel early or late. On loopback the kernel
delivers in the sender's own system call, nearly always; `settle` makes
the nearly into always.
"""

import asyncio
import select
import selectors
import socket
import struct

from virtual_asyncio import Sections

section = Sections()

#: How long a case may take before its watchdog fails it, in seconds.
WATCHDOG = 10


class WaitingSelector(selectors.DefaultSelector):
    """The platform's own selector, waiting for real. `_run_once` calls
    `select` exactly once per iteration, so it counts the iterations; a
    wait that finds nothing in the whole timeout moves the virtual clock on
    by it, so that a timer due then (the watchdog) runs."""

    def __init__(self, clock):
        super().__init__()
        self.clock = clock
        self.iterations = 0

    def select(self, timeout=None):
        self.iterations += 1
        events = super().select(timeout)
        if not events and timeout is not None:
            self.clock.advance(timeout)
        return events


def say(loop, text):
    print(f"iteration {loop.iteration}: {text}")


def watchdog(loop):
    """Fail the case if it has not ended in WATCHDOG seconds."""

    def fail():
        raise SystemExit(f"the case did not end in {WATCHDOG} s")

    loop.call_later(WATCHDOG, fail)


def settle(sock):
    """Wait, outside the loop, until the kernel has made `sock` readable:
    data, an end of file, a queued connection, or a reset."""
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    if not poller.poll(WATCHDOG * 1000):
        raise SystemExit("the kernel did not deliver in time")


def listener():
    """A listening socket on a free port of 127.0.0.1, non-blocking."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    sock.setblocking(False)
    return sock


async def connect(loop, address):
    """A new non-blocking TCP socket, connected to `address` by the loop."""
    sock = socket.socket()
    sock.setblocking(False)
    try:
        await loop.sock_connect(sock, address)
    except BaseException:
        sock.close()
        raise
    return sock


async def connected(loop):
    """A connected pair, made through the loop: the client's end, the
    server's end."""
    server_side = listener()
    client = await connect(loop, server_side.getsockname())
    say(loop, "client: connected")
    settle(server_side)
    server, address = await loop.sock_accept(server_side)
    say(loop, f"server: accepted the client: {address == client.getsockname()}")
    server_side.close()
    return client, server


async def recv_later(loop, sock, who):
    """A read started in a task of its own, to be pending while the other
    side acts; it says what it got."""
    try:
        data = await loop.sock_recv(sock, 1024)
    except OSError as error:
        say(loop, f"{who}: recv: {type(error).__name__}")
        return
    say(loop, f"{who}: recv: {data!r}")


async def pending_read(loop, sock, who):
    """`recv_later` as a task, started: its first try found nothing, and it
    waits in the loop."""
    task = loop.create_task(recv_later(loop, sock, who))
    await asyncio.sleep(0)
    say(loop, f"{who}: recv pending: {not task.done()}")
    return task


@section
def connect_accept_send_recv_and_half_close(loop):
    """Connect, accept, send both ways, receive (at once, and after a
    wait); then the client shuts down its writing: the server reads b''
    and can still send, and the client receives it."""

    async def main():
        client, server = await connected(loop)

        reading = await pending_read(loop, server, "server")
        await loop.sock_sendall(client, b"hello")
        say(loop, "client: sendall: b'hello'")
        settle(server)
        await reading

        await loop.sock_sendall(server, b"world")
        say(loop, "server: sendall: b'world'")
        settle(client)
        say(loop, f"client: recv: {await loop.sock_recv(client, 1024)!r}")

        reading = await pending_read(loop, server, "server")
        client.shutdown(socket.SHUT_WR)
        say(loop, "client: shutdown(SHUT_WR)")
        settle(server)
        await reading
        say(loop, f"server: recv again: {await loop.sock_recv(server, 1024)!r}")

        await loop.sock_sendall(server, b"still here")
        say(loop, "server: sendall: b'still here'")
        settle(client)
        say(loop, f"client: recv: {await loop.sock_recv(client, 1024)!r}")
        client.close()
        server.close()

    watchdog(loop)
    loop.run_until_complete(main())


@section
def connection_refused(loop):
    """A connection to a port held by a socket that does not listen: the
    kernel refuses it, and the loop's connect says so."""

    async def main():
        held = socket.socket()
        held.bind(("127.0.0.1", 0))
        try:
            await connect(loop, held.getsockname())
        except OSError as error:
            say(loop, f"connect: {type(error).__name__}")
        else:
            say(loop, "connect: connected")
        held.close()

    watchdog(loop)
    loop.run_until_complete(main())


@section
def reset_while_reading(loop):
    """The client resets the connection (SO_LINGER of zero, then close)
    while the server's read is pending: the read fails with a reset; the
    reset's error is reported once, so the server's next write finds the
    connection closed, fails, and the process carries on."""

    async def main():
        client, server = await connected(loop)
        reading = await pending_read(loop, server, "server")
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        client.close()
        say(loop, "client: closed with SO_LINGER 0")
        settle(server)
        await reading
        try:
            await loop.sock_sendall(server, b"anyone?")
        except OSError as error:
            say(loop, f"server: sendall: {type(error).__name__}")
        else:
            say(loop, "server: sendall: sent")
        say(loop, "server: still running")
        server.close()

    watchdog(loop)
    loop.run_until_complete(main())


section.run(WaitingSelector)
