//! A server: a listening socket whose connections each get a task.
//!
//! Mirrors asyncio's `Server` in CPython's `asyncio/base_events.py`
//! (`close`, `wait_closed`, `serve_forever`, `is_serving`), the accept
//! loop of `asyncio/selector_events.py` (`_accept_connection`, which
//! stops accepting for a second when the process is out of descriptors,
//! `EMFILE`, rather than try again at every turn), and `start_server` of
//! `asyncio/streams.py`, which makes one whose connections are streams.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, RawFd};
use std::pin::Pin;
use std::rc::Rc;

use mio::net::{TcpListener, TcpStream};
use socket2::{Domain, Socket, Type};
use stage02_timed_events::{AbstractEventLoop, CallbackPanic, ReportKind, get_running_loop};
use stage03_read_readiness::{Interest, SelectorError, SelectorEventLoop, SelectorEvents};
use stage04_futures_tasks::{Event, FutureError};
use stage05_cancellation::create_task;

use crate::streams::{
    DEFAULT_LIMIT, StreamError, StreamReader, StreamReaderProtocol, StreamWriter,
};
use crate::transport::SocketTransport;

/// How many connections one readiness of the listener accepts at most
/// (asyncio's `backlog`), so that a flood of them cannot hold the loop.
const BACKLOG: usize = 100;

/// How many connections the kernel queues for `accept`, as mio's
/// `TcpListener::bind` asks (the kernel caps it at `somaxconn`).
const LISTEN_BACKLOG: i32 = 1024;

/// asyncio's `ACCEPT_RETRY_DELAY`: after `accept` fails for want of
/// descriptors or memory, the server stops accepting this long (seconds).
const ACCEPT_RETRY_DELAY: f64 = 1.0;

/// What `start_server` runs for each connection, its future boxed.
type ClientConnected = Box<
    dyn Fn(
        StreamReader,
        StreamWriter,
    ) -> Pin<Box<dyn std::future::Future<Output = Result<(), StreamError>>>>,
>;

// ANCHOR: server
/// asyncio's `Server` (`base_events.py`): a listening socket whose
/// connections are each handed to `client_connected` in a task of their
/// own. Clones are the same server. It serves until `close`, even if
/// dropped (the loop's reader holds it, as asyncio's loop holds its
/// server). Out of descriptors (`EMFILE`: each connection takes one), it
/// reports so to the loop's exception handler and stops accepting for a
/// second, as asyncio does; the clients that connect meanwhile wait in the
/// kernel's queue, and are served once a descriptor is free.
#[derive(Clone)]
pub struct Server {
    state: Rc<ServerState>,
}

struct ServerState {
    event_loop: SelectorEventLoop,
    /// asyncio's `_sockets`: `None` once closed.
    listener: RefCell<Option<TcpListener>>,
    fd: RawFd,
    local_addr: SocketAddr,
    limit: usize,
    client_connected: ClientConnected,
    /// asyncio's `_active_count`: connections not yet lost.
    active: Cell<usize>,
    serving: Cell<bool>,
    serving_forever: Cell<bool>,
    /// Set by `close`: what ends `serve_forever`.
    closed: Event,
    /// Closed, and no connection left: what `wait_closed` waits for
    /// (asyncio's `_waiters`, woken by `_wakeup`).
    idle: Event,
}
// ANCHOR_END: server

// ANCHOR: start_server
/// asyncio's `start_server(client_connected_cb, host, port)`: listen on
/// `address` (port 0: one the kernel picks; see
/// [`Server::local_addr`]), and for each connection run
/// `client_connected(reader, writer)` as a new stage 5 task. An `Err`
/// from it is reported to the loop's exception handler and closes the
/// connection, as asyncio does.
///
/// # Errors
/// `Os` if the address cannot be bound (`AddrInUse`); `Loop` outside a
/// running loop.
pub async fn start_server<F, C>(
    client_connected: F,
    address: SocketAddr,
) -> Result<Server, StreamError>
where
    F: Fn(StreamReader, StreamWriter) -> C + 'static,
    C: std::future::Future<Output = Result<(), StreamError>> + 'static,
{
    start_server_with(client_connected, address, ServerOptions::default()).await
}

/// What else asyncio's `start_server` takes: `limit` (each reader's
/// buffer) and `reuse_port`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerOptions {
    /// The readers' limit (asyncio's `limit`, 64 KiB by default).
    pub limit: usize,
    /// Share the port with other listeners that ask for it too
    /// (`SO_REUSEPORT`): the kernel spreads the connections among them, so
    /// that each of several loops, one per core, accepts its share.
    pub reuse_port: bool,
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            limit: DEFAULT_LIMIT,
            reuse_port: false,
        }
    }
}

/// [`start_server`] with [`ServerOptions`].
///
/// # Errors
/// As [`start_server`]; `InvalidArgument` for a limit of zero.
pub async fn start_server_with<F, C>(
    client_connected: F,
    address: SocketAddr,
    options: ServerOptions,
) -> Result<Server, StreamError>
where
    F: Fn(StreamReader, StreamWriter) -> C + 'static,
    C: std::future::Future<Output = Result<(), StreamError>> + 'static,
{
    let event_loop = get_running_loop::<SelectorEventLoop>().map_err(StreamError::Loop)?;
    if options.limit == 0 {
        return Err(StreamError::InvalidArgument("the limit must be positive"));
    }
    // Binding and listening do not wait; asyncio's awaits are for its
    // name lookup, which an address needs none of.
    let listener = listen(address, options.reuse_port).map_err(StreamError::Os)?;
    let state = Rc::new(ServerState {
        event_loop,
        fd: listener.as_raw_fd(),
        local_addr: listener.local_addr().map_err(StreamError::Os)?,
        listener: RefCell::new(Some(listener)),
        limit: options.limit,
        client_connected: Box::new(move |reader, writer| {
            Box::pin(client_connected(reader, writer))
        }),
        active: Cell::new(0),
        serving: Cell::new(false),
        serving_forever: Cell::new(false),
        closed: Event::new(),
        idle: Event::new(),
    });
    state.start_serving().map_err(StreamError::Refused)?;
    Ok(Server { state })
}
// ANCHOR_END: start_server

/// A listening socket on `address`, as asyncio's `create_server` makes
/// it: `SO_REUSEADDR` (a restarted server need not wait out its old
/// connections' `TIME_WAIT`), and `SO_REUSEPORT` if asked.
fn listen(address: SocketAddr, reuse_port: bool) -> io::Result<TcpListener> {
    if !reuse_port {
        return TcpListener::bind(address); // mio sets SO_REUSEADDR itself
    }
    let socket = Socket::new(Domain::for_address(address), Type::STREAM, None)?;
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&address.into())?;
    socket.listen(LISTEN_BACKLOG)?;
    Ok(TcpListener::from_std(socket.into()))
}

impl ServerState {
    /// asyncio's `_start_serving`: a reader on the listener.
    fn start_serving(self: &Rc<Self>) -> Result<(), SelectorError> {
        let server = Rc::clone(self);
        self.event_loop.add_reader(self.fd, move |event_loop| {
            server.accept_connections(event_loop);
        })?;
        self.serving.set(true);
        Ok(())
    }

    // ANCHOR: accept_connections
    /// asyncio's `_accept_connection`, the listener's reader: accept what
    /// is waiting, until `accept` would block (and say so to the loop), or
    /// fails for want of a descriptor (and backs off).
    fn accept_connections(self: &Rc<Self>, event_loop: &SelectorEventLoop) {
        for _ in 0..BACKLOG {
            let accepted = match self.listener.borrow().as_ref() {
                Some(listener) => listener.accept(),
                None => return, // closed meanwhile
            };
            match accepted {
                Ok((sock, _peer)) => self.connection_made(event_loop, sock),
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                    return event_loop.would_block(self.fd, Interest::READ);
                }
                // A connection reset before it was accepted, or a signal:
                // on to the next.
                Err(error)
                    if matches!(
                        error.kind(),
                        io::ErrorKind::ConnectionAborted | io::ErrorKind::Interrupted
                    ) => {}
                // Out of descriptors (`EMFILE`) or the like: the next
                // `accept` would fail the same way.
                Err(error) => return self.back_off(event_loop, &error),
            }
        }
        // More may wait: the selector still has the listener as readable,
        // so this runs again at the next turn, after the others.
    }
    // ANCHOR_END: accept_connections

    /// What asyncio does when `accept` fails with `EMFILE` (this process
    /// has as many descriptors open as `RLIMIT_NOFILE` allows), `ENFILE`
    /// (the whole system has), `ENOBUFS` or `ENOMEM`. The kernel keeps the
    /// connection in the listener's queue, so the listener stays readable
    /// and the next `accept` fails the same way: trying again at every
    /// turn of the loop would spin, and report, for as long as nothing
    /// closes. So: report it once, through the loop's exception handler;
    /// stop accepting (the reader goes; the kernel still queues
    /// connections, up to the listener's backlog); and accept again after
    /// `ACCEPT_RETRY_DELAY`, by when a connection may have closed. The
    /// clients that connect meanwhile wait in the kernel's queue, and the
    /// first `accept` that finds a descriptor free takes them in order.
    ///
    /// asyncio 3.11's loop goes on to its next `accept` after backing off,
    /// so one turn reports the error up to a hundred times and sets as many
    /// timers (CPython issue 151615, since fixed); this one stops there.
    /// Any other error of `accept` is backed off from too, reported as a
    /// failure: asyncio raises it, the loop reports it, and the reader
    /// stays, so an error that persists (`EINVAL` from a listener shut down
    /// under it) would be reported at every turn.
    fn back_off(self: &Rc<Self>, event_loop: &SelectorEventLoop, error: &io::Error) {
        let out_of = matches!(
            error.raw_os_error(),
            Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
        );
        let what = if out_of {
            "out of system resource"
        } else {
            "failed"
        };
        event_loop.call_exception_handler(&CallbackPanic {
            handle: format!("<Server {}>", self.local_addr),
            message: format!(
                "socket.accept() {what}: {error}; accepting again in {ACCEPT_RETRY_DELAY} s"
            ),
            kind: ReportKind::About("socket"),
        });
        event_loop.remove_reader(self.fd);
        let server = Rc::clone(self);
        let _retry = event_loop.call_later(ACCEPT_RETRY_DELAY, move |_| {
            // Unless closed meanwhile. The selector reports the listener
            // readable at once if connections wait (epoll reports what is
            // ready when a descriptor is added, as its first edge).
            if server.listener.borrow().is_some() {
                let _closed_loop = server.start_serving();
            }
        });
    }

    // ANCHOR: connection_made
    /// A new connection: its reader, protocol, transport and writer, as
    /// asyncio's `_accept_connection2` and the protocol's
    /// `connection_made` make them, and the task that runs
    /// `client_connected`.
    fn connection_made(self: &Rc<Self>, event_loop: &SelectorEventLoop, sock: TcpStream) {
        let reader = StreamReader::unchecked(event_loop, self.limit);
        let server = Rc::clone(self);
        let detach = Box::new(move || server.detach());
        let protocol = StreamReaderProtocol::serving(reader.clone(), Some(detach));
        let protocol = Rc::new(protocol);
        let Ok(transport) = SocketTransport::new(event_loop, sock, protocol.clone()) else {
            return; // the loop is closing; the socket is closed with it
        };
        self.active.set(self.active.get() + 1); // asyncio's `_attach`
        reader.set_transport(transport.clone());
        let writer = StreamWriter::new(transport.clone(), protocol, reader.clone());
        let client = (self.client_connected)(reader, writer);
        let here = event_loop.clone();
        let closing = transport.clone();
        let task = create_task(event_loop, async move {
            let Err(error) = client.await else {
                return Ok(());
            };
            closing.close();
            if error.is_cancelled() {
                return Err(FutureError::Cancelled);
            }
            here.call_exception_handler(&CallbackPanic {
                handle: format!("{closing:?}"),
                message: format!("Unhandled exception in client_connected_cb: {error}"),
                kind: ReportKind::About("transport"),
            });
            Ok(())
        });
        if task.is_err() {
            transport.close();
        }
    }
    // ANCHOR_END: connection_made

    /// asyncio's `Server.close`.
    fn close(&self) {
        let Some(listener) = self.listener.borrow_mut().take() else {
            return;
        };
        self.event_loop.remove_reader(self.fd);
        drop(listener);
        self.serving.set(false);
        self.closed.set();
        if self.active.get() == 0 {
            self.idle.set();
        }
    }

    /// asyncio's `_detach`: a connection is gone.
    fn detach(&self) {
        self.active.set(self.active.get() - 1);
        if self.active.get() == 0 && self.listener.borrow().is_none() {
            self.idle.set();
        }
    }
}

impl Server {
    /// The address it listens on (asyncio's `sockets[0].getsockname()`).
    pub fn local_addr(&self) -> SocketAddr {
        self.state.local_addr
    }

    /// asyncio's `is_serving`: listening, not yet closed.
    pub fn is_serving(&self) -> bool {
        self.state.serving.get()
    }

    // ANCHOR: close
    /// asyncio's `close`: stop listening and close the listening socket.
    /// Connections already made go on; `wait_closed` waits for them.
    pub fn close(&self) {
        self.state.close();
    }

    /// asyncio's `wait_closed`, as 3.12 has it: until the server is closed
    /// and its last connection gone. (3.11's returns at once once the
    /// server is closed, connections or not; 3.12 fixed that.)
    ///
    /// # Errors
    /// A stage 5 cancellation.
    pub async fn wait_closed(&self) -> Result<(), StreamError> {
        self.state.idle.wait().await.map_err(StreamError::Future)
    }
    // ANCHOR_END: close

    // ANCHOR: serve_forever
    /// asyncio's `serve_forever`: until cancelled, which closes the
    /// server. As in asyncio, `close` from elsewhere ends it too, as a
    /// cancellation (asyncio's `close` cancels the future it awaits).
    ///
    /// # Errors
    /// Always in the end: `Future(Cancelled)`. At once: `Busy` if another
    /// task serves it forever already, `ServerClosed` once closed.
    pub async fn serve_forever(&self) -> Result<(), StreamError> {
        let state = &self.state;
        if state.serving_forever.get() {
            return Err(StreamError::Busy("serve_forever"));
        }
        if state.listener.borrow().is_none() {
            return Err(StreamError::ServerClosed);
        }
        state.serving_forever.set(true);
        // However the wait ends (a stage 5 cancel, `close`, or the future
        // dropped), the server closes. asyncio then awaits `wait_closed`,
        // which 3.11 answers at once; here a cancel is not held up by the
        // connections still open either.
        let _close = CloseOnDrop(state);
        let ended = state.closed.wait().await.err();
        Err(StreamError::Future(ended.unwrap_or(FutureError::Cancelled)))
    }
    // ANCHOR_END: serve_forever
}

/// Ends `serve_forever`: the server closes, and may be served again by
/// nobody.
struct CloseOnDrop<'a>(&'a ServerState);

impl Drop for CloseOnDrop<'_> {
    fn drop(&mut self) {
        self.0.serving_forever.set(false);
        self.0.close();
    }
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let serving = if self.is_serving() {
            "serving"
        } else {
            "closed"
        };
        write!(f, "<Server {} {serving}>", self.state.local_addr)
    }
}
