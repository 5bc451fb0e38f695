"""Stage 6 parity: streams on real TCP sockets on 127.0.0.1, on CPython's
loop.

Each section runs on the real `asyncio.SelectorEventLoop` with its real
`start_server` and `open_connection`, its `StreamReader`, `StreamWriter`
and socket transports, watching real sockets through the platform's
selector (epoll on Linux, level-triggered), which waits for real. Only the
clock is virtual, and it moves only when a wait finds nothing for as long
as the loop asked: then the case's watchdog, ten seconds away, fires and
fails the case instead of letting it hang. tests/parity_stage06_streams.rs
runs the same cases on our stage 6 streams and compares them section by
section, line by line.

Every case is a server whose handler (`client_connected_cb`) reads what
one client sends, and the client. Every line says in which iteration of
the loop it was printed, counted from iteration c: the one in which the
client, its connection open, finds the server's handler started and
waiting for its first read. The iterations before c are not compared.
Setting up takes asyncio more of them than ours, and not by the loop's
rules that the cases compare: asyncio makes each transport with callbacks
it queues (`connection_made`, then the transport's reader, then the result
of a future the connecting or accepting coroutine awaits), one iteration,
and the coroutine's wake-up another; `start_server` resolves its address
in a `gather` and sleeps one iteration. Ours makes the transport there and
then. From c on, both loops are in the same state: the handler waits in a
read, the client runs, nothing else is queued that either of them waits
for.

As in stage06_sock.py, the kernel must not decide the iterations, so each
case waits for it at agreed points, outside the loop (`settle`: a blocking
poll(2) of the receiving socket, which the loop's selector does not see):
after a write, until the peer's socket is readable; after `write_eof` or a
close, until the peer's socket has the end of the stream (POLLRDHUP: the
bytes before it have come too).
"""

import asyncio
import select
import selectors

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


def watchdog(loop):
    """Fail the case if it has not ended in WATCHDOG seconds."""

    def fail():
        raise SystemExit(f"the case did not end in {WATCHDOG} s")

    loop.call_later(WATCHDOG, fail)


def settle(fd, eof=False):
    """Wait, outside the loop, until the kernel has made `fd` readable, or,
    with `eof`, until it has the end of the stream (and so all before it)."""
    poller = select.poll()
    poller.register(fd, select.POLLRDHUP if eof else select.POLLIN)
    if not poller.poll(WATCHDOG * 1000):
        raise SystemExit("the kernel did not deliver in time")


def fd_of(writer):
    """The descriptor of the writer's socket."""
    return writer.get_extra_info("socket").fileno()


class Case:
    """What the client and the server's handler share: the loop, iteration
    c, each end's descriptor, and three events: the handler has started
    (and goes on to its first read), the handler lets the client go on
    (where a case needs it), and the handler has ended."""

    def __init__(self, loop):
        self.loop = loop
        self.c = None
        self.server_fd = None
        self.client_fd = None
        self.started = asyncio.Event()
        self.step = asyncio.Event()
        self.ended = asyncio.Event()

    def say(self, text):
        print(f"iteration c+{self.loop.iteration - self.c}: {text}")

    def run(self, handler, client):
        """Serve `handler(case, reader, writer)` on a free port of
        127.0.0.1, connect `client(case, reader, writer)` to it, and run
        both to their end."""

        async def handle(reader, writer):
            self.server_fd = fd_of(writer)
            self.started.set()
            await handler(self, reader, writer)
            writer.close()
            await writer.wait_closed()
            # The client's next look finds the end of the stream.
            settle(self.client_fd, eof=True)
            self.say("server: closed")
            self.ended.set()

        async def main():
            server = await asyncio.start_server(handle, "127.0.0.1", 0)
            port = server.sockets[0].getsockname()[1]
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            self.client_fd = fd_of(writer)
            await self.started.wait()
            self.c = self.loop.iteration
            self.say("client: connected; the server's handler waits")
            await client(self, reader, writer)
            await self.ended.wait()
            writer.close()
            await writer.wait_closed()
            self.say("client: closed")
            server.close()
            await server.wait_closed()

        watchdog(self.loop)
        self.loop.run_until_complete(main())


async def turns(count):
    """A few turns of the loop."""
    for _ in range(count):
        await asyncio.sleep(0)


def incomplete(error):
    """An IncompleteReadError, by its fields."""
    return f"IncompleteReadError: partial {error.partial!r}, expected {error.expected}"


@section
def write_eof_then_read_to_the_end_both_ways(loop):
    """The client writes twice and shuts down its writing (`write_eof`):
    the server's `read()` gets everything, then the end; the server
    answers, the other way still open, and shuts down its own writing; the
    client's `read()` gets the answer. `at_eof` before and after, on both
    sides."""

    async def server(case, reader, writer):
        data = await reader.read()
        case.say(f"server: read(): {data!r}")
        case.say(f"server: at_eof: {reader.at_eof()}")
        writer.write(b"got %d bytes" % len(data))
        writer.write_eof()
        case.say("server: wrote b'got 12 bytes', then write_eof()")
        settle(case.client_fd, eof=True)

    async def client(case, reader, writer):
        case.say(f"client: can_write_eof: {writer.can_write_eof()}")
        writer.write(b"hello, ")
        writer.write(b"world")
        writer.write_eof()
        case.say("client: wrote b'hello, ' and b'world', then write_eof()")
        settle(case.server_fd, eof=True)
        case.say(f"client: at_eof: {reader.at_eof()}")
        data = await reader.read()
        case.say(f"client: read(): {data!r}")
        case.say(f"client: at_eof: {reader.at_eof()}")

    Case(loop).run(server, client)


@section
def readexactly_past_the_end(loop):
    """Six bytes, then the end: `readexactly(4)` gets four, and
    `readexactly(5)` fails with the two that are left, which leave the
    buffer with the error."""

    async def server(case, reader, writer):
        case.say(f"server: readexactly(4): {await reader.readexactly(4)!r}")
        try:
            data = await reader.readexactly(5)
        except asyncio.IncompleteReadError as error:
            case.say(f"server: readexactly(5): {incomplete(error)}")
            case.say(f"server: the error says: {error}")
        else:
            case.say(f"server: readexactly(5): {data!r}")
        case.say(f"server: at_eof: {reader.at_eof()}")

    async def client(case, reader, writer):
        writer.write(b"abcdef")
        writer.write_eof()
        case.say("client: wrote b'abcdef', then write_eof()")
        settle(case.server_fd, eof=True)

    Case(loop).run(server, client)


@section
def readline_then_a_partial_last_line_at_the_end(loop):
    """Lines in two writes, the third line split between them, the last
    one without its newline: `readline` gets each whole line, waiting for
    the rest of the third; at the end, what is left; then b''."""

    async def server(case, reader, writer):
        for _ in range(2):
            case.say(f"server: readline: {await reader.readline()!r}")
        case.step.set()  # two lines read, the third waited for
        for _ in range(3):
            case.say(f"server: readline: {await reader.readline()!r}")
        case.say(f"server: at_eof: {reader.at_eof()}")

    async def client(case, reader, writer):
        writer.write(b"one\ntwo\nthr")
        case.say("client: wrote b'one\\ntwo\\nthr'")
        settle(case.server_fd)
        await case.step.wait()
        writer.write(b"ee\nfour")
        writer.write_eof()
        case.say("client: wrote b'ee\\nfour', then write_eof()")
        settle(case.server_fd, eof=True)

    Case(loop).run(server, client)


@section
def readuntil_a_separator(loop):
    """A separator of four bytes split between two writes is found once
    its last byte comes; a one-byte separator next; at the end, no
    separator: IncompleteReadError with what was left, and no count
    expected."""

    async def server(case, reader, writer):
        head = await reader.readuntil(b"\r\n\r\n")
        case.say(f"server: readuntil(b'\\r\\n\\r\\n'): {head!r}")
        case.say(f"server: readuntil(b';'): {await reader.readuntil(b';')!r}")
        try:
            data = await reader.readuntil(b";")
        except asyncio.IncompleteReadError as error:
            case.say(f"server: readuntil(b';'): {incomplete(error)}")
        else:
            case.say(f"server: readuntil(b';'): {data!r}")
        case.say(f"server: at_eof: {reader.at_eof()}")

    async def client(case, reader, writer):
        writer.write(b"key: value\r\n\r")
        case.say("client: wrote b'key: value\\r\\n\\r'")
        settle(case.server_fd)
        # The handler has looked at it, found no separator, and waits; and
        # the transport's reader has found the socket empty since (see
        # tests/parity_stage06_streams.rs: after two turns, ours would read
        # the next bytes one iteration before asyncio).
        await turns(3)
        writer.write(b"\nbody;tail")
        writer.write_eof()
        case.say("client: wrote b'\\nbody;tail', then write_eof()")
        settle(case.server_fd, eof=True)

    Case(loop).run(server, client)


section.run(WaitingSelector)
