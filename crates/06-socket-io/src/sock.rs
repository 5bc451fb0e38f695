//! The loop's low-level socket operations: try first, wait only on "would
//! block".
//!
//! Mirrors `sock_recv`, `sock_sendall`, `sock_connect` and `sock_accept` of
//! `BaseSelectorEventLoop` in CPython's `asyncio/selector_events.py`, with
//! their readers and writers (`_sock_sendall`, `_sock_connect_cb`,
//! `_sock_accept`). Each tries its system call at once, and only if that
//! would block makes a future, adds a reader or writer for the socket's
//! descriptor, and awaits the future; the reader or writer tries again
//! each time the selector reports the descriptor ready, and says "would
//! block" to the loop when it finds nothing after all, which an
//! edge-triggered selector needs to hear (see `epoll`). `sock_recv` is
//! stage 4's, which does the same.

use std::cell::Cell;
use std::error::Error;
use std::fmt;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, RawFd};
use std::rc::Rc;

use mio::net::{TcpListener, TcpStream};
use stage03_read_readiness::{Interest, SelectorError, SelectorEventLoop, SelectorEvents};
use stage04_futures_tasks::sock::{SockError as Stage4SockError, copy_of};
use stage04_futures_tasks::{Future, FutureError};

/// Why a socket operation has no answer.
#[derive(Debug)]
pub enum SockError {
    /// The system call failed, at once or later: asyncio's `OSError`. Its
    /// kind says which: `ConnectionRefused`, `ConnectionReset`,
    /// `BrokenPipe` (the peer has gone; never a SIGPIPE, since std's
    /// `send` passes `MSG_NOSIGNAL`), ...
    Os {
        /// The operation: `recv`, `send`, `connect`, `accept`.
        call: &'static str,
        /// What the kernel answered.
        error: io::Error,
    },
    /// The loop would not watch the descriptor, so nothing waited: it is
    /// not open, another operation waits on it for the same thing already
    /// (`Busy`), or the loop is closed.
    Refused(SelectorError),
    /// The wait ended without an answer: cancelled (stage 5), or the loop
    /// went.
    Future(FutureError),
}

impl SockError {
    /// The kernel's answer, if the system call failed.
    pub fn kind(&self) -> Option<io::ErrorKind> {
        match self {
            SockError::Os { error, .. } => Some(error.kind()),
            _ => None,
        }
    }
}

/// asyncio's `await loop.sock_recv(sock, n)`: stage 4's, its errors in
/// this stage's words.
pub async fn sock_recv<S>(
    event_loop: &SelectorEventLoop,
    sock: &Rc<S>,
    n: usize,
) -> Result<Vec<u8>, SockError>
where
    S: AsRawFd + 'static,
    for<'a> &'a S: io::Read,
{
    stage04_futures_tasks::sock_recv(event_loop, sock, n)
        .await
        .map_err(|error| match error {
            Stage4SockError::Recv(error) => SockError::Os {
                call: "recv",
                error,
            },
            Stage4SockError::Refused(error) => SockError::Refused(error),
            Stage4SockError::Future(error) => SockError::Future(error),
        })
}

/// asyncio's `await loop.sock_recv_into(sock, buf)`: read into `buf`, and
/// say how many bytes came (0: the peer closed its end, or `buf` is
/// empty). The reader cannot hold `buf` (it outlives this call's borrow),
/// so it only waits for readability, and the read is tried here again,
/// as often as "would block" sends it back to waiting.
pub async fn sock_recv_into<S>(
    event_loop: &SelectorEventLoop,
    sock: &Rc<S>,
    buf: &mut [u8],
) -> Result<usize, SockError>
where
    S: AsRawFd + 'static,
    for<'a> &'a S: io::Read,
{
    let fd = sock.as_raw_fd();
    loop {
        match io::Read::read(&mut &**sock, buf) {
            Ok(count) => return Ok(count),
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
            Err(error) => {
                return Err(SockError::Os {
                    call: "recv",
                    error,
                });
            }
        }
        event_loop.would_block(fd, Interest::READ);
        wait_for(event_loop, fd, Interest::READ, "recv", || Ok(Some(()))).await?;
    }
}

// ANCHOR: sock_sendall
/// asyncio's `await loop.sock_sendall(sock, data)`: all of `data`, sent as
/// the socket takes it. What the kernel takes at once is sent at once; the
/// rest waits for the socket to be writable again, as often as it takes.
/// Dropping the await before it ends removes the writer (and some of the
/// data may have gone).
pub async fn sock_sendall<S>(
    event_loop: &SelectorEventLoop,
    sock: &Rc<S>,
    data: &[u8],
) -> Result<(), SockError>
where
    S: AsRawFd + 'static,
    for<'a> &'a S: Write,
{
    let sent = match send(sock, data) {
        Ok(sent) => sent,
        Err(error) if error.kind() == io::ErrorKind::WouldBlock => 0,
        Err(error) => {
            return Err(SockError::Os {
                call: "send",
                error,
            });
        }
    };
    if sent == data.len() {
        return Ok(());
    }
    let rest = data[sent..].to_vec();
    let fd = sock.as_raw_fd();
    wait_for(event_loop, fd, Interest::WRITE, "send", {
        let sock = Rc::clone(sock);
        let offset = Cell::new(0);
        // asyncio's `_sock_sendall`: send what is left, until none is.
        move || match send(&sock, &rest[offset.get()..]) {
            Ok(sent) => {
                offset.set(offset.get() + sent);
                Ok((offset.get() == rest.len()).then_some(()))
            }
            Err(error) => Err(error),
        }
    })
    .await
}
// ANCHOR_END: sock_sendall

// ANCHOR: sock_connect
/// asyncio's `await loop.sock_connect(sock, address)`, for a new TCP
/// socket: connect in two halves. The non-blocking `connect(2)` answers "in
/// progress" at once; the connection is made (or refused) when the socket
/// becomes writable, and `SO_ERROR` says which (asyncio's
/// `_sock_connect_cb`). A refused connection is `Os { call: "connect",
/// error }` of kind `ConnectionRefused`.
pub async fn sock_connect(
    event_loop: &SelectorEventLoop,
    address: SocketAddr,
) -> Result<Rc<TcpStream>, SockError> {
    let connect = |error| SockError::Os {
        call: "connect",
        error,
    };
    let sock = Rc::new(TcpStream::connect(address).map_err(connect)?);
    let fd = sock.as_raw_fd();
    let waiting = Rc::clone(&sock);
    wait_for(event_loop, fd, Interest::WRITE, "connect", move || {
        match waiting.take_error()? {
            Some(error) => Err(error),
            // Writable with no error: connected, unless it was a wake-up
            // for nothing, which `peer_addr` tells apart.
            None => match waiting.peer_addr() {
                Ok(_) => Ok(Some(())),
                Err(error) if error.kind() == io::ErrorKind::NotConnected => {
                    Err(io::ErrorKind::WouldBlock.into())
                }
                Err(error) => Err(error),
            },
        }
    })
    .await?;
    Ok(sock)
}
// ANCHOR_END: sock_connect

/// asyncio's `await loop.sock_accept(sock)`: the next connection, and the
/// address it came from; waits for one if none is waiting.
pub async fn sock_accept(
    event_loop: &SelectorEventLoop,
    listener: &Rc<TcpListener>,
) -> Result<(TcpStream, SocketAddr), SockError> {
    match listener.accept() {
        Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
        done => {
            return done.map_err(|error| SockError::Os {
                call: "accept",
                error,
            });
        }
    }
    let waiting = Rc::clone(listener);
    let fd = listener.as_raw_fd();
    let accepted = Rc::new(std::cell::RefCell::new(None));
    let keeps = Rc::clone(&accepted);
    wait_for(event_loop, fd, Interest::READ, "accept", move || {
        let connection = waiting.accept()?;
        *keeps.borrow_mut() = Some(connection);
        Ok(Some(()))
    })
    .await?;
    let connection = accepted.borrow_mut().take();
    Ok(connection.expect("accepted"))
}

// ANCHOR: wait_for
/// What every operation above does once its first try would block: a
/// future; a reader or writer (`what`) for `fd` that calls `attempt` each
/// time the selector says the descriptor is ready, until `attempt` answers
/// `Some` (done) or fails; "would block" said to the loop each time it
/// finds nothing after all; and the reader or writer removed when the
/// await ends, however it ends.
async fn wait_for(
    event_loop: &SelectorEventLoop,
    fd: RawFd,
    what: Interest,
    call: &'static str,
    attempt: impl Fn() -> io::Result<Option<()>> + 'static,
) -> Result<(), SockError> {
    let busy = if what.read {
        event_loop.has_reader(fd)
    } else {
        event_loop.has_writer(fd)
    };
    if busy {
        return Err(SockError::Refused(SelectorError::Busy(fd)));
    }
    let future: Future<()> = Future::new(event_loop);
    let done = future.clone();
    let callback = move |event_loop: &SelectorEventLoop| {
        if done.done() {
            return;
        }
        let _set = match attempt() {
            Ok(None) => return,
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                return event_loop.would_block(fd, what);
            }
            Err(error) if error.kind() == io::ErrorKind::Interrupted => return,
            Ok(Some(())) => done.set_result(()),
            Err(error) => done.set_exception(error),
        };
        remove(event_loop, fd, what);
    };
    if what.read {
        event_loop.add_reader(fd, callback)
    } else {
        event_loop.add_writer(fd, callback)
    }
    .map_err(SockError::Refused)?;
    let _remove = Remove {
        event_loop,
        fd,
        what,
    };
    future.await.map_err(|error| match error {
        FutureError::Exception(error) => SockError::Os {
            call,
            error: copy_of(error.as_ref()),
        },
        other => SockError::Future(other),
    })
}
// ANCHOR_END: wait_for

fn remove(event_loop: &SelectorEventLoop, fd: RawFd, what: Interest) {
    if what.read {
        event_loop.remove_reader(fd);
    } else {
        event_loop.remove_writer(fd);
    }
}

/// Removes the reader or writer when the await ends, however it ends (a
/// stage 5 cancel drops it mid-wait): nothing may try the socket for an
/// operation no one waits for any more.
struct Remove<'a> {
    event_loop: &'a SelectorEventLoop,
    fd: RawFd,
    what: Interest,
}

impl Drop for Remove<'_> {
    fn drop(&mut self) {
        remove(self.event_loop, self.fd, self.what);
    }
}

/// One `send`, retried if a signal interrupted it.
fn send<S>(sock: &S, data: &[u8]) -> io::Result<usize>
where
    for<'a> &'a S: Write,
{
    let mut sock = sock;
    loop {
        match sock.write(data) {
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            done => return done,
        }
    }
}

impl fmt::Display for SockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SockError::Os { call, error } => write!(f, "{call} failed: {error}"),
            SockError::Refused(error) => write!(f, "the loop would not wait: {error}"),
            SockError::Future(error) => write!(f, "the wait ended without an answer: {error}"),
        }
    }
}

impl Error for SockError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            SockError::Os { error, .. } => Some(error),
            SockError::Refused(error) => Some(error),
            SockError::Future(error) => Some(error),
        }
    }
}
