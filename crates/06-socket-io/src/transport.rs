//! A socket transport: one connection, driven by the loop, handing what it
//! reads to a protocol and sending what it is given as the socket takes it.
//!
//! Mirrors `_SelectorSocketTransport` and `_SelectorTransport` in CPython's
//! `asyncio/selector_events.py` (`_read_ready`, `write`, `_write_ready`,
//! `write_eof`, `close`, `abort`, `_force_close`, `_call_connection_lost`,
//! `pause_reading`, `resume_reading`), with the write flow control of
//! `_FlowControlMixin` in `asyncio/transports.py` (`_maybe_pause_protocol`,
//! `_maybe_resume_protocol`, the water marks). The `sock_*` operations
//! make a future per call; a transport instead keeps a reader on its
//! socket for as long as the connection reads, and a writer for as long as
//! it has bytes the kernel would not take, and calls its [`Protocol`] back.
//!
//! Both say "would block" to the loop when the socket answers so: the
//! epoll selector keeps a readiness until then (see `epoll`).

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::error::Error;
use std::fmt;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::os::fd::{AsRawFd, RawFd};
use std::rc::Rc;

use mio::net::TcpStream;
use stage02_timed_events::AbstractEventLoop;
use stage03_read_readiness::{Interest, SelectorError, SelectorEventLoop, SelectorEvents};

/// asyncio's `max_size`: how much one `recv` asks for.
pub const MAX_SIZE: usize = 256 * 1024;

thread_local! {
    /// One `recv`'s worth of room, shared by every transport of the
    /// thread: a loop reads one socket at a time, and the protocol copies
    /// what it keeps. (asyncio's `recv` makes a new `bytes` each time.) A
    /// buffer per transport would keep 256 KiB for each connection, idle
    /// or not: 2.5 GiB for ten thousand.
    static READ_BUFFER: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

/// asyncio's default high-water mark: above it, the protocol is asked to
/// pause writing.
pub const HIGH_WATER: usize = 64 * 1024;

/// asyncio's default low-water mark (a quarter of the high one): at or
/// below it, the protocol is told to resume.
pub const LOW_WATER: usize = HIGH_WATER / 4;

// ANCHOR: protocol
/// asyncio's `Protocol`, what a transport calls back: the part of it that
/// this stage needs. (`connection_made` is left out: whoever makes the
/// transport hands it to the protocol's owner there and then.)
pub trait Protocol {
    /// Bytes came, in order; never empty.
    fn data_received(&self, data: &[u8]);
    /// The peer will send nothing more. `true` keeps the transport open
    /// for writing (half-closed); `false` closes it.
    fn eof_received(&self) -> bool;
    /// The connection is gone: `None` for an orderly close (ours, or after
    /// the peer's end of file), or the kernel's error (reset, broken
    /// pipe). The last call a protocol gets.
    fn connection_lost(&self, error: Option<io::Error>);
    /// The transport's write buffer went over the high-water mark.
    fn pause_writing(&self);
    /// It went back down to the low-water mark.
    fn resume_writing(&self);
}
// ANCHOR_END: protocol

/// Why a transport refused to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportError {
    /// Writing was shut down by `write_eof`: asyncio's `RuntimeError("Cannot
    /// call write() after write_eof()")`.
    WriteAfterEof,
    /// The transport is closing or closed (`close`, `abort`, or the
    /// connection was lost). asyncio drops such writes without a word
    /// (counting them, and logging after five); here the writer hears it.
    Closing,
}

// ANCHOR: socket_transport
/// asyncio's `_SelectorSocketTransport`: a TCP connection on the loop.
/// Clones are the same transport.
#[derive(Clone)]
pub struct SocketTransport {
    inner: Rc<Inner>,
}

struct Inner {
    event_loop: SelectorEventLoop,
    fd: RawFd,
    /// The socket; `None` once the connection is lost and it is closed.
    sock: RefCell<Option<TcpStream>>,
    /// `None` once told `connection_lost`: it is told nothing after that.
    protocol: RefCell<Option<Rc<dyn Protocol>>>,
    /// What `write` was given and the kernel has not taken yet.
    buffer: RefCell<VecDeque<u8>>,
    /// asyncio's `_closing`: `close` or `abort` was called, or the
    /// connection was lost; reading has stopped.
    closing: Cell<bool>,
    /// asyncio's `_eof`: `write_eof` was called.
    eof: Cell<bool>,
    /// asyncio's `_conn_lost`: `connection_lost` is on its way.
    conn_lost: Cell<bool>,
    /// `pause_reading` was called.
    reading_paused: Cell<bool>,
    /// The protocol was told `pause_writing` and not yet `resume_writing`.
    protocol_paused: Cell<bool>,
    peer_addr: Option<SocketAddr>,
    local_addr: Option<SocketAddr>,
}
// ANCHOR_END: socket_transport

impl SocketTransport {
    /// A transport for the connected `sock`, calling `protocol` back; it
    /// reads from now on. (asyncio adds the reader with `call_soon`, after
    /// `connection_made`; no reader runs before the caller's next await
    /// here either, since readers run only in the loop's iterations.)
    ///
    /// # Errors
    /// If the loop would not watch the socket (the loop is closed); the
    /// socket is closed then.
    pub fn new(
        event_loop: &SelectorEventLoop,
        sock: TcpStream,
        protocol: Rc<dyn Protocol>,
    ) -> Result<Self, SelectorError> {
        // asyncio's `_set_nodelay`: a small write goes at once, instead of
        // waiting for the peer to acknowledge the one before.
        let _best_effort = sock.set_nodelay(true);
        let inner = Rc::new(Inner {
            event_loop: event_loop.clone(),
            fd: sock.as_raw_fd(),
            peer_addr: sock.peer_addr().ok(),
            local_addr: sock.local_addr().ok(),
            sock: RefCell::new(Some(sock)),
            protocol: RefCell::new(Some(protocol)),
            buffer: RefCell::new(VecDeque::new()),
            closing: Cell::new(false),
            eof: Cell::new(false),
            conn_lost: Cell::new(false),
            reading_paused: Cell::new(false),
            protocol_paused: Cell::new(false),
        });
        inner.add_reader()?;
        Ok(Self { inner })
    }

    // ANCHOR: write
    /// asyncio's `transport.write(data)`: what the kernel takes at once is
    /// sent at once; the rest is buffered, and sent by a writer as the
    /// socket becomes writable. A failed send is not this call's error:
    /// it ends the connection, and the protocol hears it in
    /// `connection_lost`.
    ///
    /// # Errors
    /// After `write_eof`, or once the transport is closing.
    pub fn write(&self, data: &[u8]) -> Result<(), TransportError> {
        let inner = &self.inner;
        if inner.eof.get() {
            return Err(TransportError::WriteAfterEof);
        }
        if inner.closing.get() || inner.conn_lost.get() {
            return Err(TransportError::Closing);
        }
        if data.is_empty() {
            return Ok(());
        }
        let mut rest = data;
        if inner.buffer.borrow().is_empty() {
            // Nothing queued before it: try now, as asyncio does.
            match inner.with_sock(|sock| send(sock, data)) {
                Ok(sent) if sent == data.len() => return Ok(()),
                Ok(sent) => rest = &data[sent..],
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                    inner.event_loop.would_block(inner.fd, Interest::WRITE);
                }
                Err(error) => {
                    inner.fatal_error(error);
                    return Ok(());
                }
            }
            if let Err(refused) = inner.add_writer() {
                inner.fatal_error(io::Error::other(refused));
                return Ok(());
            }
        }
        inner.buffer.borrow_mut().extend(rest);
        inner.maybe_pause_protocol();
        Ok(())
    }
    // ANCHOR_END: write

    /// asyncio's `write_eof`: shut down the writing half (the peer reads
    /// end of file), once the buffer is sent; reading goes on.
    ///
    /// # Errors
    /// What `shutdown(2)` answered, if it ran here and failed.
    pub fn write_eof(&self) -> io::Result<()> {
        let inner = &self.inner;
        if inner.closing.get() || inner.eof.replace(true) {
            return Ok(());
        }
        if inner.buffer.borrow().is_empty() {
            inner.with_sock(|sock| sock.shutdown(Shutdown::Write))?;
        }
        Ok(())
    }

    /// asyncio's `can_write_eof`: a TCP socket can.
    pub fn can_write_eof(&self) -> bool {
        true
    }

    // ANCHOR: close
    /// asyncio's `close`: stop reading now; once the buffer is sent, close
    /// the socket and tell the protocol `connection_lost(None)`, in a
    /// later iteration.
    pub fn close(&self) {
        let inner = &self.inner;
        if inner.closing.replace(true) {
            return;
        }
        inner.event_loop.remove_reader(inner.fd);
        if inner.buffer.borrow().is_empty() {
            inner.conn_lost.set(true);
            inner.event_loop.remove_writer(inner.fd);
            inner.call_connection_lost_soon(None);
        }
        // Else the writer calls it once the buffer is sent.
    }

    /// asyncio's `abort`: close at once, dropping what is buffered.
    pub fn abort(&self) {
        self.inner.force_close(None);
    }
    // ANCHOR_END: close

    /// asyncio's `is_closing`.
    pub fn is_closing(&self) -> bool {
        self.inner.closing.get()
    }

    /// asyncio's `is_reading`: neither closing nor paused.
    pub fn is_reading(&self) -> bool {
        !self.inner.closing.get() && !self.inner.reading_paused.get()
    }

    // ANCHOR: pause_reading
    /// asyncio's `pause_reading`: take the reader away, so that the kernel
    /// keeps what comes (and, its buffer full, tells the peer to wait).
    pub fn pause_reading(&self) {
        if !self.is_reading() {
            return;
        }
        self.inner.reading_paused.set(true);
        self.inner.event_loop.remove_reader(self.inner.fd);
    }

    /// asyncio's `resume_reading`: the reader back. What came meanwhile
    /// is not lost: the selector reports it as soon as the reader is back.
    pub fn resume_reading(&self) {
        let inner = &self.inner;
        if inner.closing.get() || !inner.reading_paused.replace(false) {
            return;
        }
        if let Err(refused) = inner.add_reader() {
            inner.fatal_error(io::Error::other(refused));
        }
    }
    // ANCHOR_END: pause_reading

    /// asyncio's `get_write_buffer_size`: bytes written and not yet taken
    /// by the kernel.
    pub fn get_write_buffer_size(&self) -> usize {
        self.inner.buffer.borrow().len()
    }

    /// asyncio's `get_write_buffer_limits`: `(low, high)`.
    pub fn get_write_buffer_limits(&self) -> (usize, usize) {
        (LOW_WATER, HIGH_WATER)
    }

    /// The peer's address (asyncio's `get_extra_info("peername")`).
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.inner.peer_addr
    }

    /// The socket's own address (`get_extra_info("sockname")`).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.inner.local_addr
    }

    /// The socket's descriptor, as the loop watches it.
    pub fn fd(&self) -> RawFd {
        self.inner.fd
    }

    /// asyncio's `get_extra_info('socket')`, for what the transport does
    /// not do itself (a socket option, say): `with` the socket, unless it
    /// is closed already.
    pub fn with_socket<T>(&self, with: impl FnOnce(&TcpStream) -> T) -> Option<T> {
        self.inner.sock.borrow().as_ref().map(with)
    }
}

impl Inner {
    fn add_reader(self: &Rc<Self>) -> Result<(), SelectorError> {
        let this = Rc::clone(self);
        let fd = self.fd;
        self.event_loop
            .add_reader(fd, move |_| this.read_ready())
            .map(drop)
    }

    fn add_writer(self: &Rc<Self>) -> Result<(), SelectorError> {
        let this = Rc::clone(self);
        let fd = self.fd;
        self.event_loop
            .add_writer(fd, move |_| this.write_ready())
            .map(drop)
    }

    /// The protocol, out of its cell: what it does may call this
    /// transport again.
    fn protocol(&self) -> Option<Rc<dyn Protocol>> {
        self.protocol.borrow().clone()
    }

    /// `call` on the socket, or `NotConnected` once it is closed.
    fn with_sock<T>(&self, call: impl FnOnce(&TcpStream) -> io::Result<T>) -> io::Result<T> {
        match self.sock.borrow().as_ref() {
            Some(sock) => call(sock),
            None => Err(io::ErrorKind::NotConnected.into()),
        }
    }

    // ANCHOR: read_ready
    /// asyncio's `_read_ready__data_received`, the reader: one `recv`, its
    /// bytes to the protocol; zero bytes is the peer's end of file. Called
    /// again at the next turn for as long as the selector keeps the socket
    /// readable, which is until a `recv` would block, or comes back short,
    /// and says so.
    fn read_ready(self: &Rc<Self>) {
        if self.conn_lost.get() {
            return;
        }
        let mut data = READ_BUFFER.take();
        data.resize(MAX_SIZE, 0);
        match self.with_sock(|sock| recv(sock, &mut data)) {
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                self.event_loop.would_block(self.fd, Interest::READ);
            }
            Err(error) => self.fatal_error(error),
            Ok(0) => self.read_eof(),
            Ok(count) => {
                // Less than asked for: the kernel had no more. The next
                // `recv` would only say "would block", so say it now and
                // save the call, as tokio does. Bytes that come later are
                // a new edge, which epoll reports.
                if count < data.len() {
                    self.event_loop.would_block(self.fd, Interest::READ);
                }
                if let Some(protocol) = self.protocol() {
                    protocol.data_received(&data[..count]);
                }
            }
        }
        READ_BUFFER.set(data);
    }

    /// asyncio's `_read_ready__on_eof`: the protocol decides whether the
    /// connection stays open for writing.
    fn read_eof(self: &Rc<Self>) {
        let keep_open = self.protocol().is_some_and(|p| p.eof_received());
        if keep_open {
            // Nothing more will come: stop watching for it.
            self.event_loop.remove_reader(self.fd);
        } else {
            SocketTransport {
                inner: Rc::clone(self),
            }
            .close();
        }
    }
    // ANCHOR_END: read_ready

    // ANCHOR: write_ready
    /// asyncio's `_write_ready`, the writer: send what the buffer holds;
    /// once it is empty, take the writer away and do what waited for it
    /// (the close, or the shutdown of writing).
    fn write_ready(self: &Rc<Self>) {
        if self.conn_lost.get() {
            return;
        }
        let sent = {
            let mut buffer = self.buffer.borrow_mut();
            let sent = self.with_sock(|sock| send(sock, buffer.make_contiguous()));
            if let Ok(count) = sent {
                buffer.drain(..count);
            }
            sent
        };
        match sent {
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                self.event_loop.would_block(self.fd, Interest::WRITE);
            }
            Err(error) => {
                self.event_loop.remove_writer(self.fd);
                self.buffer.borrow_mut().clear();
                self.fatal_error(error);
            }
            Ok(_) => {
                self.maybe_resume_protocol(); // which may write more
                if self.buffer.borrow().is_empty() {
                    self.event_loop.remove_writer(self.fd);
                    if self.closing.get() {
                        self.call_connection_lost(None);
                    } else if self.eof.get() {
                        let shut = self.with_sock(|sock| sock.shutdown(Shutdown::Write));
                        if let Err(error) = shut {
                            self.fatal_error(error);
                        }
                    }
                }
            }
        }
    }
    // ANCHOR_END: write_ready

    // ANCHOR: water_marks
    /// asyncio's `_maybe_pause_protocol`: over the high-water mark, ask the
    /// protocol (once) to stop writing.
    fn maybe_pause_protocol(&self) {
        if self.buffer.borrow().len() <= HIGH_WATER || self.protocol_paused.replace(true) {
            return;
        }
        if let Some(protocol) = self.protocol() {
            protocol.pause_writing();
        }
    }

    /// asyncio's `_maybe_resume_protocol`: down to the low-water mark,
    /// tell a paused protocol to go on. Between the two marks nothing
    /// changes, so that a writer near one mark is not paused and resumed
    /// at every send.
    fn maybe_resume_protocol(&self) {
        if !self.protocol_paused.get() || self.buffer.borrow().len() > LOW_WATER {
            return;
        }
        self.protocol_paused.set(false);
        if let Some(protocol) = self.protocol() {
            protocol.resume_writing();
        }
    }
    // ANCHOR_END: water_marks

    // ANCHOR: force_close
    /// asyncio's `_fatal_error`: the socket failed; the connection ends,
    /// and the protocol hears why.
    fn fatal_error(self: &Rc<Self>, error: io::Error) {
        self.force_close(Some(error));
    }

    /// asyncio's `_force_close`: stop reading and writing now, drop what
    /// is buffered, and tell the protocol in a later iteration.
    fn force_close(self: &Rc<Self>, error: Option<io::Error>) {
        if self.conn_lost.replace(true) {
            return;
        }
        if !self.buffer.borrow().is_empty() {
            self.buffer.borrow_mut().clear();
            self.event_loop.remove_writer(self.fd);
        }
        if !self.closing.replace(true) {
            self.event_loop.remove_reader(self.fd);
        }
        self.call_connection_lost_soon(error);
    }

    fn call_connection_lost_soon(self: &Rc<Self>, error: Option<io::Error>) {
        let this = Rc::clone(self);
        let queued = self
            .event_loop
            .call_soon(move |_| this.call_connection_lost(error));
        if queued.is_err() {
            // The loop is closed: nothing will run again. Close the socket
            // at least.
            self.sock.take();
        }
    }

    /// asyncio's `_call_connection_lost`: the protocol's last call, then
    /// the socket closes. Reader and writer are gone already.
    fn call_connection_lost(&self, error: Option<io::Error>) {
        self.conn_lost.set(true);
        if let Some(protocol) = self.protocol.take() {
            protocol.connection_lost(error);
        }
        self.sock.take();
    }
    // ANCHOR_END: force_close
}

/// One `recv`, retried if a signal interrupted it.
fn recv(sock: &TcpStream, data: &mut [u8]) -> io::Result<usize> {
    loop {
        match (&mut &*sock).read(data) {
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            done => return done,
        }
    }
}

/// One `send`, retried if a signal interrupted it. A peer that has gone
/// is an error (`BrokenPipe`), not a SIGPIPE: std passes `MSG_NOSIGNAL`.
fn send(sock: &TcpStream, data: &[u8]) -> io::Result<usize> {
    loop {
        match (&mut &*sock).write(data) {
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            done => return done,
        }
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransportError::WriteAfterEof => write!(f, "cannot write after write_eof"),
            TransportError::Closing => write!(f, "the transport is closing"),
        }
    }
}

impl Error for TransportError {}

impl fmt::Debug for SocketTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // asyncio's repr: `<_SelectorSocketTransport fd=7 read=polling
        // write=<idle, bufsize=0>>`, in words.
        let inner = &self.inner;
        let state = if inner.sock.borrow().is_none() {
            "closed"
        } else if inner.closing.get() {
            "closing"
        } else {
            "open"
        };
        write!(
            f,
            "<SocketTransport {state} fd={} reading={} bufsize={}>",
            inner.fd,
            self.is_reading(),
            self.get_write_buffer_size()
        )
    }
}
