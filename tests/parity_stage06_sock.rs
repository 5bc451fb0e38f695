//! Stage 6 against CPython: the loop's socket operations on real TCP
//! sockets on 127.0.0.1 (tests/parity/stage06_sock.py). Our stage 6
//! `sock_connect`, `sock_accept`, `sock_sendall` and `sock_recv`, with
//! stage 5 tasks on a loop waiting in the epoll selector
//! (`EpollSelector`: edges kept as levels), against asyncio 3.11's
//! `loop.sock_*` on its selector loop (epoll, level-triggered), section by
//! section, line by line:
//!
//! - `connect_accept_send_recv_and_half_close`: connect, accept, send both
//!   ways, receive (at once, and after a wait in a task of its own); the
//!   client shuts down its writing: the server's read answers `b''`, while
//!   the server can still send and the client receives it.
//! - `connection_refused`: a connection to a port held by a socket that
//!   does not listen is refused: `ConnectionRefusedError`.
//! - `reset_while_reading`: the client resets (`SO_LINGER` of zero, then
//!   close) while the server's read is pending: the read fails with
//!   `ConnectionResetError`; the server's next write fails with
//!   `BrokenPipeError` (the kernel reports the reset's error once, to the
//!   read; the write then finds the connection closed, `EPIPE`, on both
//!   sides alike), and the process carries on.
//!
//! Every line says in which iteration of the loop it was printed, and the
//! iterations are compared too: they say whether an operation tried its
//! system call first (and ended without a turn of the loop) or waited, and
//! how many turns a wait took. The kernel must not decide them, so each
//! case waits for it at agreed points, outside the loop (`settle`, a
//! blocking poll(2) that the loop's selector does not see): after a send,
//! until the peer's socket is readable; before an accept, until the
//! connection is queued; after a reset, until it has arrived. Elsewhere
//! the loop looks only when nothing else is ready, and then waits for real
//! (a pending connect or read), so that no look with a zero timeout can
//! find the kernel early or late. Without `settle` the lines would nearly
//! always be the same (loopback delivers in the sender's own system call,
//! unless the kernel defers that work to its softirq thread), but an
//! accept or a read might then wait a turn on one side only.
//!
//! Our loop runs on the real clock, as it must to wait for real sockets;
//! asyncio's on a virtual clock that moves only when a wait finds nothing,
//! so that on each side a watchdog ten seconds away turns a hang into a
//! failure. No time is printed.

mod common;

use std::io;
use std::net::{Shutdown, SocketAddr};
use std::os::fd::{AsRawFd, OwnedFd};
use std::rc::Rc;
use std::time::Duration;

use demo_support::Transcript;
use mio::net::{TcpListener, TcpStream};
use socket2::{Domain, SockRef, Socket, Type};
use stage01_generator_loop::RealClock;
use stage02_timed_events::AbstractEventLoop;
use stage03_read_readiness::{SelectorEventLoop, SelectorEvents};
use stage04_futures_tasks::{FutureError, run_until_complete, task_outcome};
use stage05_cancellation::{Task, create_task, yield_now};
use stage06_socket_io::{
    EpollSelector, SockError, sock_accept, sock_connect, sock_recv, sock_sendall,
};

use common::stage04::py_bool;
use common::stage06::py_bytes;

/// The script our loop is compared with.
const SCRIPT: &str = "stage06_sock.py";

/// How long a case may take before its watchdog fails it, in seconds.
const WATCHDOG: f64 = 10.0;

#[test]
fn the_script_prints_the_sections_compared_here() {
    common::assert_prints_sections(
        SCRIPT,
        &[
            "connect_accept_send_recv_and_half_close",
            "connection_refused",
            "reset_while_reading",
        ],
    );
}

/// Run `main` as a stage 5 task on a new epoll loop on the real clock, with
/// a watchdog, and compare what it says with section `name` of the script.
fn run_section<F>(name: &str, main: impl FnOnce(SelectorEventLoop, Transcript) -> F)
where
    F: std::future::Future<Output = Result<(), FutureError>> + 'static,
{
    let event_loop = SelectorEventLoop::with_selector(
        RealClock::new(),
        EpollSelector::new().expect("an epoll instance"),
    )
    .expect("a new loop");
    let out = Transcript::new();
    // The script's watchdog: stopped, the loop hands back a task that has
    // not ended, and the case fails.
    event_loop
        .call_later(WATCHDOG, |event_loop| event_loop.stop())
        .expect("an open loop");
    let main = create_task(&event_loop, main(event_loop.clone(), out.clone()));
    let outcome = run_until_complete(&event_loop, main.expect("an open loop"));
    let outcome = task_outcome(outcome)
        .unwrap_or_else(|error| panic!("the case did not end in {WATCHDOG} s: {error}"));
    outcome.expect("main is not cancelled and does not fail");
    common::compare_section(SCRIPT, name, &out.lines());
}

/// The script's `say`: the line, and the iteration it is printed in.
fn say(out: &Transcript, event_loop: &SelectorEventLoop, text: &str) {
    out.say(format!("iteration {}: {text}", event_loop.iterations()));
}

/// A socket error, as the task's exception: the case fails with it.
fn failed(error: SockError) -> FutureError {
    FutureError::Exception(Rc::new(error))
}

/// The class of the `OSError` asyncio raises where we answer `error`.
fn py_error(error: &SockError) -> String {
    let name = match error.kind() {
        Some(io::ErrorKind::ConnectionRefused) => "ConnectionRefusedError",
        Some(io::ErrorKind::ConnectionReset) => "ConnectionResetError",
        Some(io::ErrorKind::ConnectionAborted) => "ConnectionAbortedError",
        Some(io::ErrorKind::BrokenPipe) => "BrokenPipeError",
        // No class of the script's: the comparison shows what it was.
        _ => return format!("{error:?}"),
    };
    name.to_string()
}

/// The script's `settle`: wait, outside the loop, until the kernel has made
/// `sock` readable (data, an end of file, a queued connection, or a
/// reset). A blocking poll(2) of its own, which the loop's selector does
/// not see.
fn settle(sock: &impl AsRawFd) {
    let mut watched = libc::pollfd {
        fd: sock.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    let limit = (WATCHDOG * 1000.0) as libc::c_int;
    // SAFETY: one live `pollfd`, and the count of one.
    #[allow(unsafe_code)]
    let ready = unsafe { libc::poll(&mut watched, 1, limit) };
    assert_eq!(ready, 1, "the kernel did not deliver in time");
}

/// The script's `connected`: a listener on a free port of 127.0.0.1 (mio's
/// listens, and is non-blocking), a client connected to it by the loop,
/// and the server's end accepted by the loop.
async fn connected(
    event_loop: &SelectorEventLoop,
    out: &Transcript,
) -> Result<(Rc<TcpStream>, Rc<TcpStream>), FutureError> {
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).expect("a listener");
    let listener = Rc::new(listener);
    let address = listener.local_addr().expect("a bound address");
    let client = sock_connect(event_loop, address).await.map_err(failed)?;
    say(out, event_loop, "client: connected");
    settle(&*listener);
    let (server, from) = sock_accept(event_loop, &listener).await.map_err(failed)?;
    let is_client = client.local_addr().ok() == Some(from);
    say(
        out,
        event_loop,
        &format!("server: accepted the client: {}", py_bool(is_client)),
    );
    Ok((client, Rc::new(server)))
}

/// The script's `pending_read`: a read started in a task of its own,
/// which says what it got; this task yields once, so that the read has
/// tried, found nothing and waits in the loop.
async fn pending_read(
    event_loop: &SelectorEventLoop,
    out: &Transcript,
    sock: &Rc<TcpStream>,
    who: &'static str,
) -> Result<Task<()>, FutureError> {
    let (here, log, sock) = (event_loop.clone(), out.clone(), Rc::clone(sock));
    let task = create_task(event_loop, async move {
        let line = match sock_recv(&here, &sock, 1024).await {
            Ok(data) => format!("{who}: recv: {}", py_bytes(&data)),
            Err(error) => format!("{who}: recv: {}", py_error(&error)),
        };
        say(&log, &here, &line);
        Ok(())
    })
    .expect("an open loop");
    yield_now().await?;
    let pending = py_bool(!task.done());
    say(out, event_loop, &format!("{who}: recv pending: {pending}"));
    Ok(task)
}

/// `sock_recv` of up to 1024 bytes, as the case's own line.
async fn recv(event_loop: &SelectorEventLoop, sock: &Rc<TcpStream>) -> Result<String, FutureError> {
    let data = sock_recv(event_loop, sock, 1024).await.map_err(failed)?;
    Ok(py_bytes(&data))
}

#[test]
fn connect_accept_send_recv_and_half_close() {
    run_section(
        "connect_accept_send_recv_and_half_close",
        |event_loop, out| async move {
            let (here, log) = (&event_loop, &out);
            let (client, server) = connected(here, log).await?;

            let reading = pending_read(here, log, &server, "server").await?;
            sock_sendall(here, &client, b"hello")
                .await
                .map_err(failed)?;
            say(log, here, "client: sendall: b'hello'");
            settle(&*server);
            reading.await?;

            sock_sendall(here, &server, b"world")
                .await
                .map_err(failed)?;
            say(log, here, "server: sendall: b'world'");
            settle(&*client);
            let got = recv(here, &client).await?;
            say(log, here, &format!("client: recv: {got}"));

            let reading = pending_read(here, log, &server, "server").await?;
            client.shutdown(Shutdown::Write).expect("shutdown(SHUT_WR)");
            say(log, here, "client: shutdown(SHUT_WR)");
            settle(&*server);
            reading.await?;
            let again = recv(here, &server).await?;
            say(log, here, &format!("server: recv again: {again}"));

            sock_sendall(here, &server, b"still here")
                .await
                .map_err(failed)?;
            say(log, here, "server: sendall: b'still here'");
            settle(&*client);
            let got = recv(here, &client).await?;
            say(log, here, &format!("client: recv: {got}"));
            Ok(())
        },
    );
}

#[test]
fn connection_refused() {
    run_section("connection_refused", |event_loop, out| async move {
        let (held, address) = bound_not_listening();
        let line = match sock_connect(&event_loop, address).await {
            Ok(_) => "connect: connected".to_string(),
            Err(error) => format!("connect: {}", py_error(&error)),
        };
        say(&out, &event_loop, &line);
        drop(held);
        Ok(())
    });
}

#[test]
fn reset_while_reading() {
    run_section("reset_while_reading", |event_loop, out| async move {
        let (here, log) = (&event_loop, &out);
        let (client, server) = connected(here, log).await?;
        let reading = pending_read(here, log, &server, "server").await?;
        reset(client);
        say(log, here, "client: closed with SO_LINGER 0");
        settle(&*server);
        reading.await?;
        let line = match sock_sendall(here, &server, b"anyone?").await {
            Ok(()) => "server: sendall: sent".to_string(),
            Err(error) => format!("server: sendall: {}", py_error(&error)),
        };
        say(log, here, &line);
        say(log, here, "server: still running");
        Ok(())
    });
}

/// Close `sock`, its only holder handing it over, with `SO_LINGER` of
/// zero: the kernel sends a reset, not an orderly end.
fn reset(sock: Rc<TcpStream>) {
    let linger = SockRef::from(&*sock).set_linger(Some(Duration::ZERO));
    linger.expect("setsockopt(SO_LINGER)");
    drop(Rc::try_unwrap(sock).expect("the case holds the only handle"));
}

/// A TCP socket bound to a free port of 127.0.0.1 and not listening, and
/// its address: what neither std nor mio makes (their listeners listen).
fn bound_not_listening() -> (OwnedFd, SocketAddr) {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket(2)");
    socket
        .bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into())
        .expect("bind(2)");
    let address = socket
        .local_addr()
        .unwrap()
        .as_socket()
        .expect("an IP address");
    (socket.into(), address)
}
