//! Stage 6: non-blocking sockets and streams, on mio.
//!
//! Until now the loop asked `select(2)` or `poll(2)` which descriptors are
//! ready, handing the kernel the whole list at every call. Here it waits in
//! epoll, through mio: descriptors are registered once, and the kernel
//! reports only what changed. That is *edge-triggered*: a descriptor is
//! reported when it becomes ready, not at every wait while it stays ready,
//! as asyncio's level-triggered selectors (and stage 3's) report it.
//!
//! | module | what it holds | asyncio's name for it |
//! |---|---|---|
//! | [`epoll`] | a selector on epoll, edges kept as levels | `EpollSelector` (selectors.py) |
//! | [`sock`] | socket operations that try first and wait only on "would block" | `sock_recv`, `sock_recv_into`, `sock_sendall`, `sock_connect`, `sock_accept` (selector_events.py) |
//! | [`transport`] | a connection driven by the loop, calling a protocol back; write buffer and water marks | `_SelectorSocketTransport` (selector_events.py), `Protocol`, `_FlowControlMixin` (transports.py) |
//! | [`streams`] | reads that wait for a line or n bytes, writes that drain, connections | `StreamReader`, `StreamWriter`, `StreamReaderProtocol`, `open_connection` (streams.py) |
//! | [`server`] | a listening socket, a task per connection, and the accept loop's back-off | `Server` (base_events.py), `_accept_connection` (selector_events.py), `start_server` (streams.py) |
//! | [`runners`] | a program run on an epoll loop; one loop per core, sharing a port | `asyncio.run` (runners.py); `start_server(reuse_port=True)` |
//! | [`monitor`] | a console on a port that lists, locates and cancels tasks | aiomonitor's `start_monitor` and its commands |
//! | [`scenarios`] | scenario 6, the echo server, the chunked response, parallel fetches, and load: ten thousand clients and their faults | |

pub mod epoll;
pub mod monitor;
pub mod runners;
pub mod scenarios;
pub mod server;
pub mod sock;
pub mod streams;
pub mod transport;

pub use epoll::EpollSelector;
pub use runners::{Ended, run, run_per_core};
pub use server::{Server, ServerOptions, start_server, start_server_with};
pub use sock::{SockError, sock_accept, sock_connect, sock_recv, sock_recv_into, sock_sendall};
pub use streams::{
    DEFAULT_LIMIT, StreamError, StreamReader, StreamReaderProtocol, StreamWriter, open_connection,
    open_connection_with_limit,
};
pub use transport::{HIGH_WATER, LOW_WATER, Protocol, SocketTransport, TransportError};
