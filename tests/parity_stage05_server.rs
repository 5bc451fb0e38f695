//! Stage 5 against CPython, scenario 12: a server shut down
//! (tests/parity/stage05_server.py). A task serves lines from a real
//! socket pair through the loop's selector (stage 4's `sock_recv` on stage
//! 3's loop); the client sends two lines, the server echoes them; main
//! cancels the server at 1 s, and the cancellation lands at its pending
//! read: it says goodbye to its client, flushes its log for 0.5 s (a
//! clean-up that awaits), closes the connection and passes the
//! cancellation on. Both on a virtual clock, section by section, line by
//! line: the scenario itself, as the book prints it (the time only), and
//! the same case rebuilt here with every line stamped with the loop's time
//! and iteration; then what the client received.
//!
//! Not compared: the scenario's other way, `Stop::Abort` (Rust's drop of
//! the server's future, tokio's `abort`), which asyncio has no counterpart
//! of; crates/05-cancellation/tests/server.rs checks it.

mod common;

use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::os::unix::net::UnixStream;
use std::rc::Rc;

use demo_support::Transcript;
use stage01_generator_loop::VirtualClock;
use stage02_timed_events::AbstractEventLoop;
use stage03_read_readiness::SelectorEventLoop;
use stage04_futures_tasks::{FutureError, SockError, run_until_complete, sock_recv, task_outcome};
use stage05_cancellation::scenarios::{FAREWELL, Stop, server_shutdown};
use stage05_cancellation::{create_task, sleep};

use common::ended;
use common::stage04::{new_case, py_bool, stamp_iteration};

/// The script our loop is compared with.
const SCRIPT: &str = "stage05_server.py";

#[test]
fn the_script_prints_the_sections_compared_here() {
    common::assert_prints_sections(
        SCRIPT,
        &[
            "scenario_12_as_the_book_prints_it",
            "server_cancelled_at_its_read",
        ],
    );
}

/// The scenario itself, stopped asyncio's way (`Stop::Cancel`): the lines
/// it prints, the book's tests/output/scenario-12-cancel.txt, each with
/// the loop's time.
#[test]
fn scenario_12_as_the_book_prints_it() {
    let out = Transcript::new();
    server_shutdown(VirtualClock::new(), Stop::Cancel, &out).expect("scenario 12 runs");
    common::compare_section(SCRIPT, "scenario_12_as_the_book_prints_it", &out.lines());
}

/// A connected pair of Unix stream sockets, both non-blocking: the
/// server's end, and the client's.
fn socket_pair() -> (UnixStream, UnixStream) {
    let (ours, theirs) = UnixStream::pair().expect("a socket pair");
    ours.set_nonblocking(true).expect("non-blocking");
    theirs.set_nonblocking(true).expect("non-blocking");
    (ours, theirs)
}

/// Write `text` to `sock` at once: a few bytes into an empty socket
/// buffer, as the script's `sock_sendall`, which does not suspend then.
fn send(sock: &UnixStream, text: &[u8]) {
    let mut sock = sock;
    sock.write_all(text).expect("a few bytes fit");
}

/// The script's `received`: everything `sock` has to read now, up to its
/// end, as text.
fn received(sock: &UnixStream) -> String {
    let (mut sock, mut text) = (sock, String::new());
    match sock.read_to_string(&mut text) {
        Err(error) if error.kind() != io::ErrorKind::WouldBlock => panic!("recv: {error}"),
        _ => text,
    }
}

/// The script's `finally`: whichever way the server ends, its connection
/// is closed as its coroutine's locals go (a drop, which cannot await).
struct Closing {
    sock: Rc<UnixStream>,
    event_loop: SelectorEventLoop,
    out: Transcript,
}

impl Drop for Closing {
    fn drop(&mut self) {
        self.sock.shutdown(Shutdown::Both).expect("shutdown");
        stamp_iteration(&self.out, &self.event_loop, "server: connection closed");
    }
}

/// The script's `serve`: answer each line with `echo: <line>` until the
/// client closes its end; cancelled at a read, say goodbye, flush for
/// 0.5 s, and pass the cancellation on.
async fn serve(
    event_loop: SelectorEventLoop,
    sock: Rc<UnixStream>,
    out: Transcript,
) -> Result<(), FutureError> {
    let _closing = Closing {
        sock: Rc::clone(&sock),
        event_loop: event_loop.clone(),
        out: out.clone(),
    };
    let (here, log) = (&event_loop, &out);
    let mut line = Vec::new();
    loop {
        let data = match sock_recv(here, &sock, 1024).await {
            Ok(data) => data,
            Err(SockError::Future(FutureError::Cancelled)) => {
                stamp_iteration(log, here, "server: cancelled at its read; says goodbye");
                send(&sock, FAREWELL.as_bytes());
                sleep(0.5, ()).await?;
                stamp_iteration(log, here, "server: log flushed; passes it on");
                return Err(FutureError::Cancelled);
            }
            Err(error) => return Err(FutureError::Exception(Rc::new(error))),
        };
        if data.is_empty() {
            stamp_iteration(log, here, "server: the client closed its end");
            return Ok(());
        }
        for byte in data {
            line.push(byte);
            if byte == b'\n' {
                let text = String::from_utf8_lossy(&line).trim_end().to_string();
                stamp_iteration(log, here, &format!("server: echoes {text}"));
                send(&sock, &[b"echo: ", line.as_slice()].concat());
                line.clear();
            }
        }
    }
}

/// The scenario rebuilt from stage 5's pieces, every line stamped with the
/// loop's time and iteration: when the client's lines reach the server
/// (the iteration after they are sent, in which the selector finds the
/// socket readable, and the one after, in which the server runs), when the
/// cancel lands, how long the clean-up takes, and what the client gets.
#[test]
fn server_cancelled_at_its_read() {
    let (event_loop, out) = new_case();
    let (ours, theirs) = socket_pair();
    let client = Rc::new(theirs);
    for (at, text) in [(0.2, "hello\n"), (0.4, "world\n")] {
        let (client, log) = (Rc::clone(&client), out.clone());
        event_loop
            .call_later(at, move |event_loop| {
                let line = format!("client: sends {}", text.trim_end());
                stamp_iteration(&log, event_loop, &line);
                send(&client, text.as_bytes());
            })
            .expect("an open loop");
    }
    let server = serve(event_loop.clone(), Rc::new(ours), out.clone());
    let server = create_task(&event_loop, server).expect("an open loop");
    let (here, log) = (event_loop.clone(), out.clone());
    let main = create_task(&event_loop, async move {
        sleep(1.0, ()).await?;
        let cancelled = py_bool(server.cancel(None));
        stamp_iteration(
            &log,
            &here,
            &format!("main: cancel the server: {cancelled}"),
        );
        if let Err(FutureError::Cancelled) = server.clone().await {
            stamp_iteration(&log, &here, "main: the server was cancelled");
        }
        stamp_iteration(&log, &here, &format!("server {}", ended(&server)));
        Ok(())
    })
    .expect("an open loop");
    let outcome = task_outcome(run_until_complete(&event_loop, main)).expect("main ran");
    outcome.expect("main is not cancelled and does not fail");
    for line in received(&client).lines() {
        out.say(format!("client received: {line}"));
    }
    common::compare_section(SCRIPT, "server_cancelled_at_its_read", &out.lines());
}
