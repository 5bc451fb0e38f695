"""Stage 5 parity, scenario 12: a server shut down, on CPython's loop, on a
virtual clock, watching a real socket pair.

A task serves lines from a socket with `loop.sock_recv`, answering each
with `loop.sock_sendall`; the client (the other end of a
`socket.socketpair()`) sends two lines; main cancels the server at 1 s. The
cancellation lands at the server's pending read: it says goodbye to its
client, flushes its log for 0.5 s (a clean-up that awaits), closes the
connection and passes the cancellation on. Then main reads what the client
received.

Every section runs on the real `asyncio.SelectorEventLoop` with its real
`sock_recv`, `sock_sendall` and `Task.cancel`; only the clock and the wait
are replaced (virtual_asyncio's `NeverWaitingSelector`, which still asks
the platform's selector, with timeout 0, so that the sockets' real
readiness is seen). tests/parity_stage05_server.rs runs the same cases on
our stage 5 tasks and stage 4's `sock_recv`, and compares them section by
section, line by line. Each send here is a few bytes into an empty socket
buffer: `sock_sendall` sends them at once, without suspending, as our
scenario's plain write does.
"""

import asyncio
import socket

from virtual_asyncio import NeverWaitingSelector, Sections, stamp_iteration

section = Sections()

FAREWELL = b"Server shutting down\n"


def socket_pair():
    """A connected pair of Unix stream sockets, both non-blocking."""
    ours, theirs = socket.socketpair()
    ours.setblocking(False)
    theirs.setblocking(False)
    return ours, theirs


def received(sock):
    """Everything `sock` has to read now, up to its end, as text."""
    data = b""
    while True:
        try:
            chunk = sock.recv(1024)
        except BlockingIOError:
            break
        if not chunk:
            break
        data += chunk
    return data.decode()


def ended(task):
    """How a task ended, in the words the Rust test prints."""
    if not task.done():
        return "pending"
    if task.cancelled():
        return "cancelled"
    if task.exception() is not None:
        return f"failed: {task.exception()}"
    return f"result {task.result()}"


@section
def scenario_12_as_the_book_prints_it(loop):
    """The lines our scenario prints (tests/output/scenario-12-cancel.txt),
    in its format: the time only, to the millisecond in 6 columns."""

    def say(text):
        print(f"{loop.time():6.3f}  {text}")

    ours, theirs = socket_pair()

    async def serve():
        try:
            while True:
                try:
                    data = await loop.sock_recv(ours, 1024)
                except asyncio.CancelledError:
                    say("server: cancelled at its read")
                    await loop.sock_sendall(ours, FAREWELL)
                    await asyncio.sleep(0.5)
                    say("server: log flushed")
                    raise
                if not data:
                    return
                for line in data.splitlines(keepends=True):
                    await loop.sock_sendall(ours, b"echo: " + line)
        finally:
            ours.shutdown(socket.SHUT_RDWR)
            say("server: connection closed")

    for at, text in ((0.2, b"hello\n"), (0.4, b"world\n")):
        loop.call_later(at, theirs.send, text)
    server = loop.create_task(serve())

    async def main():
        await asyncio.sleep(1)
        say("main: cancels the server")
        server.cancel()
        try:
            await server
        except asyncio.CancelledError:
            # Our scenario prints the `Result` it awaited, `Err(cancelled)`.
            say("main: the server ended: Err(cancelled)")

    loop.run_until_complete(main())
    for line in received(theirs).splitlines():
        print(f"        client received: {line}")
    ours.close()
    theirs.close()


@section
def server_cancelled_at_its_read(loop):
    """The same, every line stamped with the time and the iteration, and
    what the client and the server do on the way."""
    ours, theirs = socket_pair()

    async def serve():
        try:
            line = b""
            while True:
                try:
                    data = await loop.sock_recv(ours, 1024)
                except asyncio.CancelledError:
                    stamp_iteration(loop, "server: cancelled at its read; says goodbye")
                    await loop.sock_sendall(ours, FAREWELL)
                    await asyncio.sleep(0.5)
                    stamp_iteration(loop, "server: log flushed; passes it on")
                    raise
                if not data:
                    stamp_iteration(loop, "server: the client closed its end")
                    return
                for byte in data:
                    line += bytes([byte])
                    if byte == ord("\n"):
                        stamp_iteration(loop, f"server: echoes {line.decode().rstrip()}")
                        await loop.sock_sendall(ours, b"echo: " + line)
                        line = b""
        finally:
            ours.shutdown(socket.SHUT_RDWR)
            stamp_iteration(loop, "server: connection closed")

    def send(text):
        stamp_iteration(loop, f"client: sends {text.decode().rstrip()}")
        theirs.send(text)

    for at, text in ((0.2, b"hello\n"), (0.4, b"world\n")):
        loop.call_later(at, send, text)
    server = loop.create_task(serve())

    async def main():
        await asyncio.sleep(1)
        stamp_iteration(loop, f"main: cancel the server: {server.cancel()}")
        try:
            await server
        except asyncio.CancelledError:
            stamp_iteration(loop, "main: the server was cancelled")
        stamp_iteration(loop, f"server {ended(server)}")

    loop.run_until_complete(main())
    for line in received(theirs).splitlines():
        print(f"client received: {line}")
    ours.close()
    theirs.close()


section.run(NeverWaitingSelector)
