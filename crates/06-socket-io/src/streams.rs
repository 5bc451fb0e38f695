//! Streams: a connection read and written with awaits, with back-pressure
//! both ways.
//!
//! Mirrors CPython's `asyncio/streams.py`: `StreamReader` (`feed_data`,
//! `feed_eof`, `_wait_for_data`, `read`, `readline`, `readuntil`,
//! `readexactly`, `_maybe_resume_transport`), `StreamReaderProtocol` and
//! the `FlowControlMixin` it inherits (`_drain_helper`), `StreamWriter`
//! (`write`, `drain`, `write_eof`, `close`, `wait_closed`) and
//! `open_connection`; `start_server` and its `Server` are in
//! [`server`](crate::server). Underneath is
//! this stage's [`SocketTransport`]; above it, the reader waits on a
//! stage 4 future that the protocol finishes when data comes, and the
//! writer on a stage 4 [`Event`] that the transport's water marks clear
//! and set.
//!
//! Every wait here can be cancelled (stage 5) and leaves the stream as it
//! was: a read consumes the buffer only once it has all it needs, so a
//! cancelled read has taken nothing.

use std::cell::{Cell, RefCell};
use std::error::Error;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;

use stage02_timed_events::{LoopError, get_running_loop};
use stage03_read_readiness::{SelectorError, SelectorEventLoop};
use stage04_futures_tasks::sock::copy_of;
use stage04_futures_tasks::{Event, Future, FutureError};
use stage05_cancellation::yield_now;

use crate::sock::{SockError, sock_connect};
use crate::transport::{Protocol, SocketTransport, TransportError};

/// asyncio's `_DEFAULT_LIMIT`: the longest line (or chunk before a
/// separator) a reader accepts; twice it, buffered, pauses reading.
pub const DEFAULT_LIMIT: usize = 64 * 1024;

// ANCHOR: stream_error
/// What a stream can meet, each as asyncio names it.
#[derive(Debug)]
pub enum StreamError {
    /// asyncio's `IncompleteReadError`: the stream ended before what was
    /// asked for. `partial` holds every byte that came (they have left the
    /// buffer); `expected` is what `readexactly` wanted, `None` for
    /// `readuntil`, which wanted a separator.
    IncompleteRead {
        /// The bytes read before the end.
        partial: Vec<u8>,
        /// How many were asked for.
        expected: Option<usize>,
    },
    /// asyncio's `LimitOverrunError`: no separator within the reader's
    /// limit. Nothing was consumed: the `consumed` bytes looked at are
    /// still in the buffer, for the caller to read some other way.
    LimitOverrun {
        /// How many bytes were looked at, and left in the buffer.
        consumed: usize,
    },
    /// The kernel's answer, asyncio's `OSError`: `ConnectionRefused` from
    /// a connect, `ConnectionReset` or `BrokenPipe` on a connection the
    /// peer ended, `AddrInUse` from a server's bind.
    Os(io::Error),
    /// asyncio's `ConnectionResetError("Connection lost")`: `drain` on a
    /// connection that ended with no error to tell.
    ConnectionLost,
    /// The transport refused to write: after `write_eof`, or closing.
    Transport(TransportError),
    /// Another task waits here already: a second read for the same data,
    /// a second `serve_forever` (asyncio's `RuntimeError`).
    Busy(&'static str),
    /// `serve_forever` on a closed server (asyncio's `RuntimeError`).
    ServerClosed,
    /// What asyncio refuses with `ValueError`: a limit of zero, an empty
    /// separator.
    InvalidArgument(&'static str),
    /// The loop would not watch the socket (it is closed).
    Refused(SelectorError),
    /// No loop is running here, or it is closed.
    Loop(LoopError),
    /// The wait ended without an answer: cancelled (stage 5), or the loop
    /// went.
    Future(FutureError),
}
// ANCHOR_END: stream_error

impl StreamError {
    /// The kernel's answer, if it is one.
    pub fn kind(&self) -> Option<io::ErrorKind> {
        match self {
            StreamError::Os(error) => Some(error.kind()),
            // A stream's error, carried out of a task or a timeout scope.
            StreamError::Future(FutureError::Exception(error)) => {
                error.downcast_ref::<StreamError>()?.kind()
            }
            _ => None,
        }
    }

    /// Whether it is a stage 5 cancellation arriving.
    pub fn is_cancelled(&self) -> bool {
        matches!(self, StreamError::Future(FutureError::Cancelled))
    }
}

// ANCHOR: stream_reader
/// asyncio's `StreamReader`: the bytes a protocol fed it, in a buffer,
/// and reads that wait for more. Clones are the same reader.
#[derive(Clone)]
pub struct StreamReader {
    state: Rc<ReaderState>,
}

struct ReaderState {
    event_loop: SelectorEventLoop,
    limit: usize,
    buffer: RefCell<Vec<u8>>,
    /// asyncio's `_eof`: `feed_eof` was called; nothing more comes.
    eof: Cell<bool>,
    /// asyncio's `_waiter`: what the one waiting read awaits.
    waiter: RefCell<Option<Future<Wakeup>>>,
    /// asyncio's `_exception`: why the connection failed, once it has.
    exception: RefCell<Option<io::Error>>,
    /// asyncio's `_transport`: to pause and resume reading.
    transport: RefCell<Option<SocketTransport>>,
    /// asyncio's `_paused`: the transport was told to pause reading.
    paused: Cell<bool>,
}

/// Why a waiting read was woken: asyncio finishes its waiter with a
/// result or with the exception.
#[derive(Clone, Copy)]
enum Wakeup {
    DataOrEof,
    Exception,
}
// ANCHOR_END: stream_reader

impl StreamReader {
    /// A reader with asyncio's default limit, 64 KiB.
    pub fn new(event_loop: &SelectorEventLoop) -> Self {
        Self::unchecked(event_loop, DEFAULT_LIMIT)
    }

    /// A reader whose lines (and chunks before a separator) may be
    /// `limit` bytes long; twice that, buffered, pauses the transport.
    ///
    /// # Errors
    /// `InvalidArgument` for a limit of zero.
    pub fn with_limit(event_loop: &SelectorEventLoop, limit: usize) -> Result<Self, StreamError> {
        if limit == 0 {
            return Err(StreamError::InvalidArgument("the limit must be positive"));
        }
        Ok(Self::unchecked(event_loop, limit))
    }

    pub(crate) fn unchecked(event_loop: &SelectorEventLoop, limit: usize) -> Self {
        Self {
            state: Rc::new(ReaderState {
                event_loop: event_loop.clone(),
                limit,
                buffer: RefCell::new(Vec::new()),
                eof: Cell::new(false),
                waiter: RefCell::new(None),
                exception: RefCell::new(None),
                transport: RefCell::new(None),
                paused: Cell::new(false),
            }),
        }
    }

    /// The limit.
    pub fn limit(&self) -> usize {
        self.state.limit
    }

    /// How many bytes are buffered, read from the socket and not yet by
    /// the caller.
    pub fn buffered(&self) -> usize {
        self.state.buffer.borrow().len()
    }

    /// asyncio's `at_eof`: the end was fed and everything before it read.
    pub fn at_eof(&self) -> bool {
        self.state.eof.get() && self.state.buffer.borrow().is_empty()
    }

    /// asyncio's `exception()`: why the connection failed, if it has (a
    /// copy: every read after it fails with the same).
    pub fn exception(&self) -> Option<io::Error> {
        self.state.exception.borrow().as_ref().map(|e| copy_of(e))
    }

    /// asyncio's `set_transport`: the transport to pause when the buffer
    /// is too full.
    pub fn set_transport(&self, transport: SocketTransport) {
        *self.state.transport.borrow_mut() = Some(transport);
    }

    // ANCHOR: feed
    /// asyncio's `feed_data`: bytes from the protocol. Over twice the
    /// limit buffered, the transport is paused: the kernel keeps the rest,
    /// and its full buffer makes the peer wait.
    ///
    /// # Panics
    /// After `feed_eof`, as asyncio asserts.
    pub fn feed_data(&self, data: &[u8]) {
        let state = &self.state;
        assert!(!state.eof.get(), "feed_data after feed_eof");
        if data.is_empty() {
            return;
        }
        state.buffer.borrow_mut().extend_from_slice(data);
        self.wakeup_waiter(Wakeup::DataOrEof);
        if !state.paused.get() && self.buffered() > 2 * state.limit {
            let transport = state.transport.borrow().clone();
            if let Some(transport) = transport {
                transport.pause_reading();
                state.paused.set(true);
            }
        }
    }

    /// asyncio's `feed_eof`: nothing more will come.
    pub fn feed_eof(&self) {
        self.state.eof.set(true);
        self.wakeup_waiter(Wakeup::DataOrEof);
    }

    /// asyncio's `set_exception`: the connection failed; the waiting read
    /// and every later one fail with `error`.
    pub fn set_exception(&self, error: io::Error) {
        *self.state.exception.borrow_mut() = Some(error);
        self.wakeup_waiter(Wakeup::Exception);
    }

    fn wakeup_waiter(&self, why: Wakeup) {
        let waiter = self.state.waiter.borrow_mut().take();
        if let Some(waiter) = waiter.filter(|waiter| !waiter.done()) {
            let _pending = waiter.set_result(why); // pending, as just checked
        }
    }

    /// asyncio's `_maybe_resume_transport`: back down to the limit, read
    /// again.
    fn maybe_resume_transport(&self) {
        let state = &self.state;
        if state.paused.get() && self.buffered() <= state.limit {
            state.paused.set(false);
            let transport = state.transport.borrow().clone();
            if let Some(transport) = transport {
                transport.resume_reading();
            }
        }
    }
    // ANCHOR_END: feed

    // ANCHOR: wait_for_data
    /// asyncio's `_wait_for_data`: until the protocol feeds data, the end
    /// or an error. One read at a time: two could not know which of them
    /// the next bytes are for.
    async fn wait_for_data(&self, call: &'static str) -> Result<(), StreamError> {
        let state = &self.state;
        if state.waiter.borrow().is_some() {
            return Err(StreamError::Busy(call));
        }
        // asyncio would wait here for ever: nothing comes after an error.
        self.raise_if_exception()?;
        // Waiting while paused would wait for ever: a `readexactly` of
        // more than twice the limit needs the transport to read on.
        if state.paused.replace(false) {
            let transport = state.transport.borrow().clone();
            if let Some(transport) = transport {
                transport.resume_reading();
            }
        }
        let waiter = Future::new(&state.event_loop);
        *state.waiter.borrow_mut() = Some(waiter.clone());
        let _forget = ForgetWaiter(state); // asyncio's `finally: self._waiter = None`
        match waiter.await {
            Ok(Wakeup::DataOrEof) => Ok(()),
            Ok(Wakeup::Exception) => self.raise_if_exception(),
            Err(cancelled) => Err(StreamError::Future(cancelled)),
        }
    }
    // ANCHOR_END: wait_for_data

    fn raise_if_exception(&self) -> Result<(), StreamError> {
        match self.exception() {
            Some(error) => Err(StreamError::Os(error)),
            None => Ok(()),
        }
    }

    /// The first `n` bytes of the buffer (or all, if fewer), out of it.
    fn take(&self, n: usize) -> Vec<u8> {
        let data = {
            let mut buffer = self.state.buffer.borrow_mut();
            if n >= buffer.len() {
                std::mem::take(&mut *buffer) // all of it: hand it over, uncopied
            } else {
                buffer.drain(..n).collect()
            }
        };
        self.maybe_resume_transport();
        data
    }

    // ANCHOR: read
    /// asyncio's `read(n)`: up to `n` bytes, as soon as there is one;
    /// empty at the end of the stream (or for `n` of 0).
    ///
    /// # Errors
    /// The connection's failure; `Busy` if another read waits; a stage 5
    /// cancellation, which leaves the buffer as it was.
    pub async fn read(&self, n: usize) -> Result<Vec<u8>, StreamError> {
        self.raise_if_exception()?;
        if n == 0 {
            return Ok(Vec::new());
        }
        if self.buffered() == 0 && !self.state.eof.get() {
            self.wait_for_data("read").await?;
        }
        Ok(self.take(n))
    }

    /// asyncio's `read(-1)`: everything until the end of the stream, read
    /// a limit's worth at a time so that the transport is never left
    /// paused. asyncio loses what it has read so far if the read is
    /// cancelled; here it goes back to the front of the buffer.
    ///
    /// # Errors
    /// As [`read`](Self::read).
    pub async fn read_to_end(&self) -> Result<Vec<u8>, StreamError> {
        let mut read = GiveBack {
            reader: self,
            taken: Vec::new(),
        };
        loop {
            let block = self.read(self.state.limit).await?;
            if block.is_empty() {
                return Ok(std::mem::take(&mut read.taken));
            }
            read.taken.extend_from_slice(&block);
        }
    }
    // ANCHOR_END: read

    // ANCHOR: readexactly
    /// asyncio's `readexactly(n)`: exactly `n` bytes, taken from the
    /// buffer only once they are all there.
    ///
    /// # Errors
    /// `IncompleteRead` with every byte that came, if the stream ends
    /// first; else as [`read`](Self::read).
    pub async fn readexactly(&self, n: usize) -> Result<Vec<u8>, StreamError> {
        self.raise_if_exception()?;
        while self.buffered() < n {
            if self.state.eof.get() {
                let partial = self.take(usize::MAX);
                let expected = Some(n);
                return Err(StreamError::IncompleteRead { partial, expected });
            }
            self.wait_for_data("readexactly").await?;
        }
        Ok(self.take(n))
    }
    // ANCHOR_END: readexactly

    /// asyncio's `readline`: a line, with its `\n`; at the end of the
    /// stream, what is left (without one), then empty.
    ///
    /// # Errors
    /// `LimitOverrun` for a line longer than the limit, which stays in
    /// the buffer (asyncio's `readline` drops it and raises `ValueError`);
    /// else as [`read`](Self::read).
    pub async fn readline(&self) -> Result<Vec<u8>, StreamError> {
        match self.readuntil(b"\n").await {
            Err(StreamError::IncompleteRead { partial, .. }) => Ok(partial),
            read => read,
        }
    }

    // ANCHOR: readuntil
    /// asyncio's `readuntil(separator)`: everything up to and including
    /// `separator`, taken from the buffer only once it is found.
    ///
    /// # Errors
    /// `LimitOverrun` if more than the limit comes before the separator
    /// (nothing is consumed); `IncompleteRead` if the stream ends first
    /// (with what came); `InvalidArgument` for an empty separator; else as
    /// [`read`](Self::read).
    pub async fn readuntil(&self, separator: &[u8]) -> Result<Vec<u8>, StreamError> {
        if separator.is_empty() {
            return Err(StreamError::InvalidArgument("the separator is empty"));
        }
        self.raise_if_exception()?;
        let limit = self.state.limit;
        // Where to look from: the bytes before it cannot start the
        // separator, so each wait scans only what is new.
        let mut offset = 0;
        let found = loop {
            let length = self.buffered();
            if length.saturating_sub(offset) >= separator.len() {
                if let Some(at) = find(&self.state.buffer.borrow(), separator, offset) {
                    break at;
                }
                offset = length + 1 - separator.len();
                if offset > limit {
                    return Err(StreamError::LimitOverrun { consumed: offset });
                }
            }
            // The separator may have come with the end: look first.
            if self.state.eof.get() {
                let partial = self.take(usize::MAX);
                let expected = None;
                return Err(StreamError::IncompleteRead { partial, expected });
            }
            self.wait_for_data("readuntil").await?;
        };
        if found > limit {
            return Err(StreamError::LimitOverrun { consumed: found });
        }
        Ok(self.take(found + separator.len()))
    }
    // ANCHOR_END: readuntil
}

/// Forgets the reader's waiter however its wait ends.
struct ForgetWaiter<'a>(&'a ReaderState);

impl Drop for ForgetWaiter<'_> {
    fn drop(&mut self) {
        self.0.waiter.borrow_mut().take();
    }
}

/// What `read_to_end` has taken so far; if it does not finish, the bytes
/// go back to the front of the buffer, before any that came since.
struct GiveBack<'a> {
    reader: &'a StreamReader,
    taken: Vec<u8>,
}

impl Drop for GiveBack<'_> {
    fn drop(&mut self) {
        if !self.taken.is_empty() {
            let mut buffer = self.reader.state.buffer.borrow_mut();
            buffer.splice(0..0, self.taken.drain(..));
        }
    }
}

/// Where `needle` first occurs in `haystack` at or after `from`.
fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    let rest = haystack.get(from..)?;
    let at = rest.windows(needle.len()).position(|w| w == needle)?;
    Some(from + at)
}

// ANCHOR: protocol
/// asyncio's `StreamReaderProtocol`, with its `FlowControlMixin`: what the
/// transport calls back, turned into the reader's buffer and the writer's
/// waits.
pub struct StreamReaderProtocol {
    reader: StreamReader,
    /// Set while the transport is not paused for writing (asyncio's
    /// `_paused`, and its `_drain_waiters` as the event's waiters).
    writable: Event,
    /// asyncio's `_connection_lost`.
    connection_lost: Cell<bool>,
    /// The error the connection ended with, if it did.
    lost_with: RefCell<Option<io::Error>>,
    /// asyncio's `_closed` future, as an event: every `wait_closed` waits
    /// on its own future, so that cancelling one cancels no other.
    closed: Event,
    /// Told when the connection is lost: the server whose connection this
    /// is counts them (asyncio's `Server._detach`).
    detach: Option<Box<dyn Fn()>>,
}

impl Protocol for StreamReaderProtocol {
    fn data_received(&self, data: &[u8]) {
        self.reader.feed_data(data);
    }

    fn eof_received(&self) -> bool {
        self.reader.feed_eof();
        true // keep the transport open: the other direction may go on
    }

    fn connection_lost(&self, error: Option<io::Error>) {
        match &error {
            None => self.reader.feed_eof(),
            Some(error) => self.reader.set_exception(copy_of(error)),
        }
        self.connection_lost.set(true);
        *self.lost_with.borrow_mut() = error;
        self.closed.set();
        self.writable.set(); // wake the drains, which find out why
        if let Some(detach) = &self.detach {
            detach();
        }
    }

    fn pause_writing(&self) {
        self.writable.clear();
    }

    fn resume_writing(&self) {
        self.writable.set();
    }
}
// ANCHOR_END: protocol

impl StreamReaderProtocol {
    /// The protocol that feeds `reader`.
    pub fn new(reader: StreamReader) -> Self {
        Self::serving(reader, None)
    }

    /// The protocol of a server's connection: `detach` tells the server
    /// when it is lost.
    pub(crate) fn serving(reader: StreamReader, detach: Option<Box<dyn Fn()>>) -> Self {
        let writable = Event::new();
        writable.set();
        Self {
            reader,
            writable,
            connection_lost: Cell::new(false),
            lost_with: RefCell::new(None),
            closed: Event::new(),
            detach,
        }
    }

    /// The error the connection ended with, as the caller's own copy.
    fn lost_with(&self) -> Result<(), StreamError> {
        match self.lost_with.borrow().as_ref() {
            Some(error) => Err(StreamError::Os(copy_of(error))),
            None => Ok(()),
        }
    }

    // ANCHOR: drain_helper
    /// asyncio's `_drain_helper`: at once unless the transport is paused
    /// for writing; then until it resumes, or the connection is lost.
    async fn drain_helper(&self) -> Result<(), StreamError> {
        if self.connection_lost.get() {
            return Err(StreamError::ConnectionLost);
        }
        self.writable.wait().await.map_err(StreamError::Future)?;
        self.lost_with()
    }
    // ANCHOR_END: drain_helper
}

// ANCHOR: stream_writer
/// asyncio's `StreamWriter`: the transport, plus `drain` and
/// `wait_closed`. Clones are the same writer; when the last goes, the
/// transport closes, as asyncio's `__del__` closes it.
#[derive(Clone)]
pub struct StreamWriter {
    inner: Rc<WriterInner>,
}

struct WriterInner {
    transport: SocketTransport,
    protocol: Rc<StreamReaderProtocol>,
    reader: StreamReader,
}
// ANCHOR_END: stream_writer

impl Drop for WriterInner {
    fn drop(&mut self) {
        self.transport.close();
    }
}

impl StreamWriter {
    /// A writer on `transport`, whose `protocol` feeds `reader`.
    pub fn new(
        transport: SocketTransport,
        protocol: Rc<StreamReaderProtocol>,
        reader: StreamReader,
    ) -> Self {
        Self {
            inner: Rc::new(WriterInner {
                transport,
                protocol,
                reader,
            }),
        }
    }

    /// asyncio's `writer.transport`.
    pub fn transport(&self) -> &SocketTransport {
        &self.inner.transport
    }

    // ANCHOR: write
    /// asyncio's `write`: hand `data` to the transport, which sends what it
    /// can now and buffers the rest. It never waits: `drain` is where a
    /// writer waits for the buffer to go down.
    ///
    /// # Errors
    /// If the connection has failed, why (asyncio would drop the bytes
    /// silently); `Transport` after `write_eof` or `close`.
    pub fn write(&self, data: &[u8]) -> Result<(), StreamError> {
        match self.inner.transport.write(data) {
            Ok(()) => Ok(()),
            Err(TransportError::Closing) => {
                self.inner.reader.raise_if_exception()?;
                Err(StreamError::Transport(TransportError::Closing))
            }
            Err(refused) => Err(StreamError::Transport(refused)),
        }
    }

    /// asyncio's `drain`: at once while the transport's buffer is under
    /// its high-water mark; else until it is back down to the low one.
    ///
    /// # Errors
    /// Why the connection failed (the reader's exception); `ConnectionLost`
    /// if it ended without one; a stage 5 cancellation, which leaves the
    /// buffer to be sent as before.
    pub async fn drain(&self) -> Result<(), StreamError> {
        let inner = &self.inner;
        inner.reader.raise_if_exception()?;
        if inner.transport.is_closing() {
            // A failed send queued `connection_lost`: let it run, so that
            // a loop of write and drain hears of it.
            yield_now().await.map_err(StreamError::Future)?;
            inner.reader.raise_if_exception()?;
        }
        inner.protocol.drain_helper().await
    }
    // ANCHOR_END: write

    /// asyncio's `write_eof`: the peer reads the end of the stream once
    /// what is buffered is sent; this side still reads.
    ///
    /// # Errors
    /// What `shutdown(2)` answered.
    pub fn write_eof(&self) -> Result<(), StreamError> {
        self.inner.transport.write_eof().map_err(StreamError::Os)
    }

    /// asyncio's `can_write_eof`.
    pub fn can_write_eof(&self) -> bool {
        self.inner.transport.can_write_eof()
    }

    /// asyncio's `close`: the transport closes once its buffer is sent.
    pub fn close(&self) {
        self.inner.transport.close();
    }

    /// asyncio's `is_closing`.
    pub fn is_closing(&self) -> bool {
        self.inner.transport.is_closing()
    }

    /// asyncio's `wait_closed`: until the connection is gone.
    ///
    /// # Errors
    /// The error it ended with, if any; a stage 5 cancellation, after
    /// which another `wait_closed` waits as before (asyncio's shares one
    /// future among them, and a cancel cancels it for all).
    pub async fn wait_closed(&self) -> Result<(), StreamError> {
        let protocol = &self.inner.protocol;
        protocol.closed.wait().await.map_err(StreamError::Future)?;
        protocol.lost_with()
    }

    /// The peer's address (asyncio's `get_extra_info("peername")`).
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.inner.transport.peer_addr()
    }

    /// This end's address (`get_extra_info("sockname")`).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.inner.transport.local_addr()
    }
}

// ANCHOR: open_connection
/// asyncio's `open_connection(host, port)`: connect (stage 6's
/// `sock_connect`), and the reader and writer of the connection.
///
/// # Errors
/// `Os` if the connection is refused or fails; `Loop` outside a running
/// loop; a stage 5 cancellation while connecting.
pub async fn open_connection(
    address: SocketAddr,
) -> Result<(StreamReader, StreamWriter), StreamError> {
    open_connection_with_limit(address, DEFAULT_LIMIT).await
}

/// [`open_connection`] with a reader of the given `limit`.
///
/// # Errors
/// As [`open_connection`]; `InvalidArgument` for a limit of zero.
pub async fn open_connection_with_limit(
    address: SocketAddr,
    limit: usize,
) -> Result<(StreamReader, StreamWriter), StreamError> {
    let event_loop = get_running_loop::<SelectorEventLoop>().map_err(StreamError::Loop)?;
    let reader = StreamReader::with_limit(&event_loop, limit)?;
    let sock = sock_connect(&event_loop, address).await?;
    // `sock_connect` lets go of its copy as its await ends.
    let sock = Rc::try_unwrap(sock).expect("the connected socket has one owner");
    let protocol = Rc::new(StreamReaderProtocol::new(reader.clone()));
    let transport =
        SocketTransport::new(&event_loop, sock, protocol.clone()).map_err(StreamError::Refused)?;
    reader.set_transport(transport.clone());
    let writer = StreamWriter::new(transport, protocol, reader.clone());
    Ok((reader, writer))
}
// ANCHOR_END: open_connection

impl From<SockError> for StreamError {
    fn from(error: SockError) -> Self {
        match error {
            SockError::Os { error, .. } => StreamError::Os(error),
            SockError::Refused(error) => StreamError::Refused(error),
            SockError::Future(error) => StreamError::Future(error),
        }
    }
}

/// A stream's error inside a task's coroutine: its exception, or its
/// cancellation passed on, so that `?` works in either.
impl From<StreamError> for FutureError {
    fn from(error: StreamError) -> Self {
        match error {
            StreamError::Future(error) => error,
            other => FutureError::Exception(Rc::new(other)),
        }
    }
}

impl fmt::Display for StreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StreamError::IncompleteRead { partial, expected } => match expected {
                Some(expected) => write!(
                    f,
                    "{} bytes read on a total of {expected} expected bytes",
                    partial.len()
                ),
                None => write!(
                    f,
                    "{} bytes read before the end, and no separator",
                    partial.len()
                ),
            },
            StreamError::LimitOverrun { consumed } => write!(
                f,
                "no separator in the first {consumed} bytes: over the limit (they stay in the buffer)"
            ),
            StreamError::Os(error) => write!(f, "{error}"),
            StreamError::ConnectionLost => write!(f, "connection lost"),
            StreamError::Transport(error) => write!(f, "{error}"),
            StreamError::Busy(call) => write!(
                f,
                "{call}() called while another task is already waiting for the same"
            ),
            StreamError::ServerClosed => write!(f, "the server is closed"),
            StreamError::InvalidArgument(why) => write!(f, "invalid argument: {why}"),
            StreamError::Refused(error) => write!(f, "the loop would not wait: {error}"),
            StreamError::Loop(error) => write!(f, "{error}"),
            StreamError::Future(error) => write!(f, "the wait ended without an answer: {error}"),
        }
    }
}

impl Error for StreamError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            StreamError::Os(error) => Some(error),
            StreamError::Transport(error) => Some(error),
            StreamError::Refused(error) => Some(error),
            StreamError::Loop(error) => Some(error),
            StreamError::Future(error) => Some(error),
            _ => None,
        }
    }
}

impl fmt::Debug for StreamReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // asyncio's repr: `<StreamReader 3 bytes eof paused>`.
        let state = &self.state;
        write!(f, "<StreamReader {} bytes", self.buffered())?;
        if state.eof.get() {
            write!(f, " eof")?;
        }
        if state.paused.get() {
            write!(f, " paused")?;
        }
        write!(f, ">")
    }
}

impl fmt::Debug for StreamWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<StreamWriter transport={:?}>", self.inner.transport)
    }
}
