//! Cancel safety: what a stopped reader loses.
//!
//! tokio's documentation calls a method *cancel safe* if stopping it at an
//! `.await` (dropping its future) loses nothing: a second call picks up
//! where the first stopped. A reader that keeps half a line in a local
//! variable is not: the half line goes with the future. asyncio's
//! `StreamReader` keeps what it read in the stream (`_buffer`), so a
//! cancelled `readline` loses nothing. The same holds for either kind of
//! stop: where the bytes live decides, not how the reader was stopped.

use std::cell::RefCell;
use std::io::Write;
use std::os::unix::net::UnixStream;
use std::rc::Rc;

use stage01_generator_loop::Clock;
use stage02_timed_events::AbstractEventLoop;
use stage03_read_readiness::SelectorEventLoop;
use stage04_futures_tasks::{FutureError, SockError, run_until_complete, sock_recv, task_outcome};

use super::server::Stop;
use super::{ScenarioError, new_loop};
use crate::{create_task, sleep};

/// Where a line reader keeps the bytes of a line it has not finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keeps {
    /// In a local variable of its future: lost if the future is stopped.
    InTheFuture,
    /// In the stream, as asyncio's `StreamReader._buffer`: kept.
    InTheStream,
}

// ANCHOR: line_reader
/// A socket, and the bytes read from it that nobody has taken yet.
struct Stream {
    sock: Rc<UnixStream>,
    buffer: RefCell<Vec<u8>>,
}

impl Stream {
    /// A line, with the half line so far kept in the stream: stopped at its
    /// read, it leaves the half line for the next reader.
    async fn read_line(&self, event_loop: &SelectorEventLoop) -> Result<String, FutureError> {
        loop {
            let newline = self.buffer.borrow().iter().position(|&b| b == b'\n');
            if let Some(end) = newline {
                let line: Vec<u8> = self.buffer.borrow_mut().drain(..=end).collect();
                return Ok(String::from_utf8_lossy(&line).into_owned());
            }
            let data = recv(event_loop, &self.sock).await?;
            self.buffer.borrow_mut().extend(data);
        }
    }

    /// A line, with the half line so far kept in a local: stopped at its
    /// read, it takes the half line with it.
    async fn read_line_locally(
        &self,
        event_loop: &SelectorEventLoop,
    ) -> Result<String, FutureError> {
        let mut line = self.buffer.take();
        loop {
            if let Some(end) = line.iter().position(|&b| b == b'\n') {
                *self.buffer.borrow_mut() = line.split_off(end + 1);
                return Ok(String::from_utf8_lossy(&line).into_owned());
            }
            line.extend(recv(event_loop, &self.sock).await?);
        }
    }
}
// ANCHOR_END: line_reader

/// `sock_recv`, its cancellation as the caller's.
async fn recv(
    event_loop: &SelectorEventLoop,
    sock: &Rc<UnixStream>,
) -> Result<Vec<u8>, FutureError> {
    sock_recv(event_loop, sock, 1024)
        .await
        .map_err(|error| match error {
            SockError::Future(error) => error,
            other => FutureError::Exception(Rc::new(other)),
        })
}

// ANCHOR: half_a_line
/// The client sends `hel` at 0.2 s and `lo\n` at 0.8 s. A first reader,
/// keeping its half line where `keeps` says, is stopped at 0.5 s as `stop`
/// says; a second reader then reads a line. What it reads.
pub fn half_a_line(
    clock: impl Clock + 'static,
    stop: Stop,
    keeps: Keeps,
) -> Result<String, ScenarioError> {
    let event_loop = new_loop(clock)?;
    let (ours, theirs) = UnixStream::pair().map_err(ScenarioError::Io)?;
    ours.set_nonblocking(true).map_err(ScenarioError::Io)?;
    let client = Rc::new(theirs);
    for (at, text) in [(0.2, "hel"), (0.8, "lo\n")] {
        let client = Rc::clone(&client);
        event_loop.call_later(at, move |_| {
            let _sent = (&*client).write_all(text.as_bytes());
        })?;
    }
    let stream = Rc::new(Stream {
        sock: Rc::new(ours),
        buffer: RefCell::new(Vec::new()),
    });
    let read = move |event_loop: SelectorEventLoop, stream: Rc<Stream>| async move {
        match keeps {
            Keeps::InTheFuture => stream.read_line_locally(&event_loop).await,
            Keeps::InTheStream => stream.read_line(&event_loop).await,
        }
    };
    let first = create_task(&event_loop, read(event_loop.clone(), Rc::clone(&stream)))?;
    let (here, stream) = (event_loop.clone(), Rc::clone(&stream));
    let main = create_task(&event_loop, async move {
        sleep(0.5, ()).await?;
        match stop {
            Stop::Cancel => first.cancel(None),
            Stop::Abort => {
                first.abort();
                true
            }
        };
        let _stopped = first.await;
        read(here, stream).await
    })?;
    task_outcome(run_until_complete(&event_loop, main))?.map_err(ScenarioError::Main)
}
// ANCHOR_END: half_a_line
