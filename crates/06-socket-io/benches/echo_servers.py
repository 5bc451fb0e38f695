"""The Python servers of stage 6's echo benchmark (``benches/echo/``).

They mirror uvloop's own echo benchmark (``examples/bench/echoserver.py``
in uvloop's repository, which its vmbench suite runs): an echo of bytes as
they come, on asyncio's event loop or on uvloop's, through either API:

streams
    ``asyncio.start_server``, and per connection ``data = await
    reader.read(65536)``, ``writer.write(data)``, ``await writer.drain()``
    until the client closes: line for line what our stage 6 server does
    (``echo_bytes`` in ``src/scenarios/echo.rs``).

protocols
    ``loop.create_server`` with a protocol whose ``data_received`` calls
    ``transport.write(data)``: no task, no future, no await per message.

Every accepted socket gets ``TCP_NODELAY`` (asyncio's transports set it
already; it is set here again so that no server depends on a default), as
our server and the benchmark's tokio servers do. The soft limit of open
descriptors is raised to the hard one, for the benchmark's ten thousand
idle connections.

The benchmark starts this file itself, once per run; by hand::

    /usr/bin/python3 crates/06-socket-io/benches/echo_servers.py --api streams
    python-with-uvloop crates/06-socket-io/benches/echo_servers.py --loop uvloop

It prints ``serving on 127.0.0.1:PORT`` once it listens (``--port 0``, the
default, takes any free port) and serves until killed or interrupted.
"""

import argparse
import asyncio
import resource
import socket
import sys

#: What the streams server asks ``read`` for: a cap, as in our server.
READ_SIZE = 65536


def set_nodelay(sock):
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


async def echo_streams(reader, writer):
    set_nodelay(writer.get_extra_info("socket"))
    try:
        while True:
            data = await reader.read(READ_SIZE)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass  # the client went away mid-message: the benchmark's end
    writer.close()


class EchoProtocol(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport
        set_nodelay(transport.get_extra_info("socket"))

    def connection_lost(self, exc):
        self.transport = None

    def data_received(self, data):
        self.transport.write(data)


def raise_descriptor_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loop", choices=["asyncio", "uvloop"], default="asyncio")
    parser.add_argument("--api", choices=["streams", "protocols"], default="protocols")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()

    raise_descriptor_limit()
    if args.loop == "uvloop":
        import uvloop

        loop = uvloop.new_event_loop()
    else:
        loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    loop.set_debug(False)

    if args.api == "streams":
        start = asyncio.start_server(echo_streams, "127.0.0.1", args.port)
    else:
        start = loop.create_server(EchoProtocol, "127.0.0.1", args.port)
    server = loop.run_until_complete(start)
    port = server.sockets[0].getsockname()[1]
    print(f"serving on 127.0.0.1:{port}", flush=True)
    try:
        loop.run_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
        loop.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
