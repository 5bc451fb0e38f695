//! Reading a socket: a future that a reader finishes.
//!
//! Mirrors `BaseSelectorEventLoop.sock_recv` and its reader `_sock_recv` in
//! CPython's `asyncio/selector_events.py`. `sock_recv` tries `recv` at once;
//! if that would block, it makes a future, adds a reader for the socket's
//! descriptor with `add_reader`, and awaits the future. When the selector
//! reports the descriptor readable, the reader runs `recv` (the data moves
//! into a buffer), sets the buffer as the future's result (or the error as
//! its exception), and removes itself; the future wakes the task, and the
//! coroutine gets the buffer. Stage 3's `read` waited with an event that its
//! driver knew; here the wait is a future, like everything a task awaits.

use std::error::Error;
use std::fmt;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, RawFd};
use std::rc::Rc;

use stage02_timed_events::{AbstractEventLoop, Handle};
use stage03_read_readiness::events::fd_ready_mark;
use stage03_read_readiness::{
    Interest, SelectorError, SelectorEventLoop, SelectorEvents, SelectorPoller,
};

use crate::futures::{Future, FutureError};

/// Why `sock_recv` has no data to give.
#[derive(Debug)]
pub enum SockError {
    /// `recv` failed, at once or in the reader: asyncio's `OSError`.
    Recv(io::Error),
    /// The loop would not watch the socket's descriptor, so nothing waited:
    /// it is not open (`BadDescriptor`), another `sock_recv` waits on it
    /// already (`Busy`), or the loop is closed.
    Refused(SelectorError),
    /// The future ended without data or an error from `recv`.
    Future(FutureError),
}

// ANCHOR: sock_recv
/// asyncio's `await loop.sock_recv(sock, n)`: at most `n` bytes from
/// `sock`, which must be non-blocking (a blocking socket would block the
/// whole loop in the first `recv`; asyncio's debug mode refuses one). An
/// empty buffer means the peer closed its end (or `n` was 0).
///
/// As asyncio, it reads at once if it can, and waits only if the read
/// would block: a socket that always has data never gives the loop a turn
/// (stage 3's `read` waits first, for that reason). Only one `sock_recv`
/// may wait on a socket at a time; a second is `Refused(Busy)` (asyncio's
/// `add_reader` would silently replace the first, which would never end).
/// Dropping the await before it ends removes the reader.
///
/// # Panics
/// If a buffer of `n` bytes cannot be allocated.
pub async fn sock_recv<S>(
    event_loop: &SelectorEventLoop,
    sock: &Rc<S>,
    n: usize,
) -> Result<Vec<u8>, SockError>
where
    S: AsRawFd + 'static,
    for<'a> &'a S: Read,
{
    match recv(sock, n) {
        Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
        done => return done.map_err(SockError::Recv),
    }
    let fd = sock.as_raw_fd();
    if event_loop.has_reader(fd) {
        return Err(SockError::Refused(SelectorError::Busy(fd)));
    }
    let future = Future::new(event_loop);
    let reader = read_into(future.clone(), Rc::clone(sock), n);
    let handle = event_loop
        .add_reader(fd, reader)
        .map_err(SockError::Refused)?;
    // asyncio's `_sock_read_done`, for an await dropped before the reader
    // ran (stage 5 cancels so): the reader must not read data that no one
    // waits for any more.
    let _remove = RemoveReader {
        event_loop,
        fd,
        handle,
    };
    future.await.map_err(|error| match error {
        FutureError::Exception(error) => SockError::Recv(copy_of(error.as_ref())),
        other => SockError::Future(other),
    })
}
// ANCHOR_END: sock_recv

/// asyncio's `_sock_recv`: the reader, run in each iteration in which the
/// selector reports the socket readable. It moves the data into a buffer,
/// makes the buffer the future's result (or the error its exception), and
/// removes itself. A read that would block after all (readiness is a hint:
/// someone may have read the data first) leaves it waiting.
fn read_into<S>(
    future: Future<Vec<u8>>,
    sock: Rc<S>,
    n: usize,
) -> impl Fn(&SelectorEventLoop) + 'static
where
    S: AsRawFd + 'static,
    for<'a> &'a S: Read,
{
    move |event_loop| {
        event_loop.record(fd_ready_mark);
        let _done = match recv(&sock, n) {
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                // Said so, for an edge-triggered selector (stage 6's).
                return event_loop.would_block(sock.as_raw_fd(), Interest::READ);
            }
            Ok(buffer) => future.set_result(buffer),
            Err(error) => future.set_exception(error),
        };
        event_loop.remove_reader(sock.as_raw_fd());
    }
}

/// One `recv` of at most `n` bytes, into a new buffer; retried if a signal
/// interrupted it, as Python does since PEP 475.
fn recv<S>(sock: &S, n: usize) -> io::Result<Vec<u8>>
where
    for<'a> &'a S: Read,
{
    // `Read` is implemented for `&UnixStream` (and `&TcpStream`): a socket
    // that the reader and its owner share reads through a shared reference.
    let mut sock = sock;
    let mut buffer = vec![0; n];
    loop {
        match sock.read(&mut buffer) {
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
            Ok(count) => {
                buffer.truncate(count);
                return Ok(buffer);
            }
        }
    }
}

/// Removes the reader when dropped, unless it is gone already (it removed
/// itself, having read; or it was replaced): a removed handle is cancelled.
struct RemoveReader<'a> {
    event_loop: &'a SelectorEventLoop,
    fd: RawFd,
    handle: Handle<SelectorPoller>,
}

impl Drop for RemoveReader<'_> {
    fn drop(&mut self) {
        if !self.handle.cancelled() {
            self.event_loop.remove_reader(self.fd);
        }
    }
}

/// The caller's own copy of the future's exception, which is shared (an
/// `Rc`) while an `io::Error` cannot be cloned: the same OS error, or the
/// same kind and message. (Stage 6's socket operations use it too.)
pub fn copy_of(exception: &(dyn Error + 'static)) -> io::Error {
    let Some(error) = exception.downcast_ref::<io::Error>() else {
        return io::Error::other(exception.to_string());
    };
    match error.raw_os_error() {
        Some(code) => io::Error::from_raw_os_error(code),
        None => io::Error::new(error.kind(), error.to_string()),
    }
}

impl fmt::Display for SockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SockError::Recv(error) => write!(f, "recv failed: {error}"),
            SockError::Refused(error) => write!(f, "the loop would not wait: {error}"),
            SockError::Future(error) => write!(f, "the read ended without data: {error}"),
        }
    }
}

impl Error for SockError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            SockError::Recv(error) => Some(error),
            SockError::Refused(error) => Some(error),
            SockError::Future(error) => Some(error),
        }
    }
}
