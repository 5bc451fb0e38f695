//! Scenario 12, a server shut down, from Bruce Merry's PyCon ZA 2018 talk:
//! a task serves lines from a socket; cancelled, it is told so at its
//! pending read, says goodbye to its client, finishes its clean-up, and
//! closes the connection. Written twice: asyncio's way, where the
//! cancellation is a value the server handles, with awaits; and Rust's way,
//! where the server's future is dropped (`abort`), and its clean-up is
//! whatever its locals do when dropped, which cannot await.

use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::rc::Rc;

use demo_support::Transcript;
use stage01_generator_loop::Clock;
use stage02_timed_events::AbstractEventLoop;
use stage03_read_readiness::SelectorEventLoop;
use stage04_futures_tasks::{FutureError, SockError, run_until_complete, sock_recv, task_outcome};

use super::{ScenarioError, new_loop, stamp};
use crate::{create_task, sleep};

/// How the server is stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// asyncio's way: `cancel()`, delivered at the pending read.
    Cancel,
    /// Rust's way: `abort()`, the server's future dropped.
    Abort,
}

/// What the server says as it goes.
pub const FAREWELL: &str = "Server shutting down\n";

// ANCHOR: serve
/// Serve `sock`: answer each line with `echo: <line>`, until the client
/// closes its end. Cancelled at a read, say goodbye, flush the log for
/// 0.5 s (a clean-up that awaits), and pass the cancellation on. Either
/// way, the connection is closed when the server's locals go.
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
    let mut line = Vec::new();
    loop {
        let data = match sock_recv(&event_loop, &sock, 1024).await {
            Ok(data) => data,
            Err(SockError::Future(FutureError::Cancelled)) => {
                stamp(&out, &event_loop, "server: cancelled at its read");
                say(&sock, FAREWELL);
                sleep(0.5, ()).await?;
                stamp(&out, &event_loop, "server: log flushed");
                return Err(FutureError::Cancelled);
            }
            Err(error) => return Err(FutureError::Exception(Rc::new(error))),
        };
        if data.is_empty() {
            return Ok(()); // the client closed its end
        }
        for byte in data {
            line.push(byte);
            if byte == b'\n' {
                let text = String::from_utf8_lossy(&line).into_owned();
                say(&sock, &format!("echo: {text}"));
                line.clear();
            }
        }
    }
}

/// The connection's last words, whichever way the server ends: its `Drop`
/// runs when the server's future is dropped or returns, and cannot await.
struct Closing {
    sock: Rc<UnixStream>,
    event_loop: SelectorEventLoop,
    out: Transcript,
}

impl Drop for Closing {
    fn drop(&mut self) {
        let _gone = self.sock.shutdown(std::net::Shutdown::Both);
        stamp(&self.out, &self.event_loop, "server: connection closed");
    }
}
// ANCHOR_END: serve

/// Write `text` to `sock` at once (a few bytes into an empty socket
/// buffer: this does not block).
fn say(sock: &UnixStream, text: &str) {
    let mut sock = sock;
    let _sent = sock.write_all(text.as_bytes());
}

// ANCHOR: server_shutdown
/// The client sends `hello` at 0.2 s and `world` at 0.4 s; main stops the
/// server at 1 s, as `stop` says, awaits it, and prints what the client
/// received.
pub fn server_shutdown(
    clock: impl Clock + 'static,
    stop: Stop,
    out: &Transcript,
) -> Result<(), ScenarioError> {
    let event_loop = new_loop(clock)?;
    let (ours, theirs) = UnixStream::pair().map_err(ScenarioError::Io)?;
    ours.set_nonblocking(true).map_err(ScenarioError::Io)?;
    theirs.set_nonblocking(true).map_err(ScenarioError::Io)?;
    let client = Rc::new(theirs);
    for (at, text) in [(0.2, "hello\n"), (0.4, "world\n")] {
        let client = Rc::clone(&client);
        event_loop.call_later(at, move |_| say(&client, text))?;
    }
    let server = create_task(
        &event_loop,
        serve(event_loop.clone(), Rc::new(ours), out.clone()),
    )?;
    let (here, log) = (event_loop.clone(), out.clone());
    let main = create_task(&event_loop, async move {
        sleep(1.0, ()).await?;
        match stop {
            Stop::Cancel => {
                stamp(&log, &here, "main: cancels the server");
                server.cancel(None);
            }
            Stop::Abort => {
                stamp(&log, &here, "main: aborts the server");
                server.abort();
            }
        }
        let ended = server.await;
        stamp(&log, &here, &format!("main: the server ended: {ended:?}"));
        Ok(())
    })?;
    task_outcome(run_until_complete(&event_loop, main))?.map_err(ScenarioError::Main)?;
    let received = read_all(&client).map_err(ScenarioError::Io)?;
    for line in received.lines() {
        out.say(format!("        client received: {line}"));
    }
    Ok(())
}
// ANCHOR_END: server_shutdown

/// Everything `sock` has to read now, up to its end.
fn read_all(sock: &UnixStream) -> io::Result<String> {
    let (mut sock, mut text) = (sock, String::new());
    match sock.read_to_string(&mut text) {
        Ok(_) => Ok(text),
        Err(error) if error.kind() == io::ErrorKind::WouldBlock => Ok(text),
        Err(error) => Err(error),
    }
}
