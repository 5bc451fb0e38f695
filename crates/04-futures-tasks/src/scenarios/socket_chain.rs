//! Scenario 7: a socket read, from the selector to the coroutine, step by
//! step, on a real socket pair.

use std::future::poll_fn;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::pin::pin;
use std::rc::Rc;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Waker};

use demo_support::{Timeline, Transcript};
use futures_task::ArcWake;
use stage01_generator_loop::Clock;
use stage02_timed_events::{AbstractEventLoop, get_running_loop};
use stage03_read_readiness::SelectorEventLoop;

use super::{ScenarioError, new_loop, stamp, stamp_at};
use crate::runners::run_until_complete;
use crate::sock::{SockError, sock_recv};
use crate::{create_task, current_task};

/// What the other end of scenario 7's socket pair sends.
pub const SENT: &[u8] = b"data";
/// When it sends it, in seconds on the loop's clock.
pub const SEND_AT: f64 = 1.0;
/// The most bytes scenario 7's `sock_recv` asks for.
pub const RECV_MAX: usize = 1024;

// ANCHOR: chain
/// Scenario 7, recorded on `timeline`: a task awaits `sock_recv` on one end
/// of a socket pair; a timer sends into the other end a second later. Each
/// step is told by what took it, as it took it, with the loop's iteration:
/// the task, the timer, the socket (which knows who reads it) and the
/// task's waker.
pub fn socket_chain(
    clock: impl Clock + 'static,
    out: &Transcript,
    timeline: &Timeline,
) -> Result<(), ScenarioError> {
    out.say("Scenario 7: a task awaits sock_recv; a timer writes into the socket pair");
    let event_loop = new_loop(clock)?;
    event_loop.set_timeline(timeline.clone());
    let (ours, theirs) = UnixStream::pair()?;
    ours.set_nonblocking(true)?; // as asyncio requires of every socket it reads
    let log = out.clone();
    let send = move |event_loop: &SelectorEventLoop| {
        let sent = format!(
            "timer: the other end sends {:?}",
            String::from_utf8_lossy(SENT)
        );
        stamp(&log, event_loop, &sent);
        (&theirs)
            .write_all(SENT)
            .expect("a socket pair takes a short write");
    };
    event_loop.call_later(SEND_AT, send)?;
    let socket = Rc::new(Narrated {
        socket: ours,
        out: out.clone(),
    });
    let reading = receive(event_loop.clone(), socket, out.clone());
    let task = create_task(&event_loop, reading)?;
    task.set_name("receive"); // its row on the timeline
    let received = run_until_complete(&event_loop, task)?;
    received?;
    Ok(())
}

/// The task's coroutine: `sock_recv`, then read the buffer it got.
async fn receive(
    event_loop: SelectorEventLoop,
    socket: Rc<Narrated>,
    out: Transcript,
) -> Result<Vec<u8>, SockError> {
    let call = format!("task: sock_recv(socket, {RECV_MAX})");
    stamp(&out, &event_loop, &call);
    let (received, woken) = noting_wakes(sock_recv(&event_loop, &socket, RECV_MAX)).await;
    if let Some((time, iteration)) = woken {
        let text = "the future gets its result and wakes the task: its waker queues the next step";
        stamp_at(&out, time, iteration, text);
    }
    let buffer = received?;
    let text = String::from_utf8_lossy(&buffer);
    let read = format!("task: resumed: the coroutine reads the buffer: {text:?}");
    stamp(&out, &event_loop, &read);
    Ok(buffer)
}
// ANCHOR_END: chain

/// The task's end of the socket pair, which tells each `recv`: who reads
/// (the task itself, or the reader that the loop runs because `select`
/// reported the socket readable) and what the read got.
struct Narrated {
    socket: UnixStream,
    out: Transcript,
}

impl Read for &Narrated {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        let event_loop = get_running_loop::<SelectorEventLoop>().map_err(io::Error::other)?;
        let in_task = current_task().is_some();
        if !in_task {
            let text = "select reports the socket readable: the loop runs its reader";
            stamp(&self.out, &event_loop, text);
        }
        let outcome = (&self.socket).read(buffer);
        let who = if in_task { "task" } else { "reader" };
        let what = match &outcome {
            Ok(count) => format!("recv moves {count} bytes into a buffer"),
            Err(error) if error.kind() == io::ErrorKind::WouldBlock && in_task => {
                "recv would block: add_reader, then await a future (the task sleeps)".to_string()
            }
            Err(error) => format!("recv: {error}"),
        };
        stamp(&self.out, &event_loop, &format!("{who}: {what}"));
        outcome
    }
}

impl AsRawFd for Narrated {
    fn as_raw_fd(&self) -> RawFd {
        self.socket.as_raw_fd()
    }
}

// ANCHOR: noting_waker
/// A task's waker, wrapped: when called, it notes the loop's time and
/// iteration, then wakes the task. A waker must be `Send`, and a
/// transcript is not: the waker notes, and the task tells when it resumes.
struct NotingWaker {
    task: Waker,
    noted: Arc<Mutex<Option<(f64, u64)>>>,
}

impl ArcWake for NotingWaker {
    fn wake_by_ref(this: &Arc<Self>) {
        if let Ok(event_loop) = get_running_loop::<SelectorEventLoop>() {
            let when = (event_loop.time(), event_loop.iterations());
            *this.noted.lock().unwrap_or_else(PoisonError::into_inner) = Some(when);
        }
        this.task.wake_by_ref();
    }
}
// ANCHOR_END: noting_waker

/// Await `future` with a noting waker: its output, and when (time,
/// iteration) the waker was last called, if it was.
async fn noting_wakes<F: std::future::Future>(future: F) -> (F::Output, Option<(f64, u64)>) {
    let mut future = pin!(future);
    let noted = Arc::new(Mutex::new(None));
    let output = poll_fn(|cx| {
        let noting = NotingWaker {
            task: cx.waker().clone(),
            noted: Arc::clone(&noted),
        };
        let waker = futures_task::waker(Arc::new(noting));
        future.as_mut().poll(&mut Context::from_waker(&waker))
    })
    .await;
    let woken = *noted.lock().unwrap_or_else(PoisonError::into_inner);
    (output, woken)
}
