//! Coroutines that wait for a file descriptor to be readable, as well as for
//! time.
//!
//! Mirrors `BaseSelectorEventLoop.sock_recv` and its reader callback
//! `_sock_recv` in CPython's `asyncio/selector_events.py`, and the source's
//! "read event": the coroutine yields "wake me when this descriptor is
//! readable"; the event registers a reader with `add_reader`; when the
//! selector finds the descriptor readable, the reader removes itself and
//! resumes the coroutine, which then reads. (`sock_recv` removes its reader in
//! a done-callback of a future; futures come in stage 4.)
//!
//! Stage 2's [`Event`] trait does the dispatch: an [`IoEvent`] is either
//! stage 2's [`SleepUntil`] or a [`Readable`], and each knows how to arrange
//! the coroutine's resume. The stage 2 driver runs these coroutines
//! unchanged.

use demo_support::{EventKind, Mark};
use std::cell::Cell;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, RawFd};
use std::rc::Rc;
use std::time::Duration;

use stage01_generator_loop::Yielder;
use stage02_timed_events::driver::Event;
use stage02_timed_events::handle::Callback;
use stage02_timed_events::{EventLoop, SleepUntil};

use crate::selector::SelectorError;
use crate::selector_loop::SelectorLoop;

/// The timeline row on which each descriptor found ready is marked.
pub const READY_ROW: &str = "(fd ready)";

/// How timelines draw a descriptor found ready: stage 3's kind of mark.
pub const FD_READY: EventKind = EventKind {
    symbol: 'r',
    meaning: "ready",
    colour: "#8250df",
};

/// The timeline mark of a descriptor found ready.
pub fn fd_ready_mark() -> Mark {
    Mark::Event {
        row: READY_ROW.to_string(),
        kind: FD_READY,
    }
}

// ANCHOR: io_event
/// What a coroutine of this stage yields to the loop.
pub enum IoEvent {
    /// Stage 2's event: resume me when the clock reads this.
    Sleep(SleepUntil),
    /// Resume me when this descriptor is readable.
    Readable(Readable),
}

/// "Resume me when `fd` is readable": there is data, the end of the file, or
/// an error to read. Made by [`readable`], which reads the outcome back.
pub struct Readable {
    fd: RawFd,
    /// The loop that watches `fd`: the one the coroutine runs on.
    event_loop: SelectorLoop,
    /// Where `schedule` leaves the loop's refusal to watch `fd`, if it refused.
    refused: Rc<Cell<Option<SelectorError>>>,
}

impl Event for IoEvent {
    fn schedule(self, event_loop: &EventLoop, resume: Callback) {
        match self {
            IoEvent::Sleep(sleep) => sleep.schedule(event_loop, resume),
            IoEvent::Readable(readable) => readable.schedule(event_loop, resume),
        }
    }
}
// ANCHOR_END: io_event

// ANCHOR: readable
impl Event for Readable {
    fn schedule(self, event_loop: &EventLoop, resume: Callback) {
        let Readable {
            fd,
            event_loop: selector_loop,
            refused,
        } = self;
        // Whichever runs first, the reader or the fallback below, takes it.
        let resume = Rc::new(Cell::new(Some(resume)));
        let outcome = if selector_loop.has_reader(fd) {
            // A second reader would replace the first, whose coroutine would
            // then never be resumed.
            Err(SelectorError::Busy(fd))
        } else {
            let reader = one_shot_reader(&selector_loop, fd, Rc::clone(&resume));
            selector_loop.add_reader(fd, reader)
        };
        if let Err(error) = outcome {
            // The loop cannot watch `fd` (closed, never opened, too high for
            // `select`): resume the coroutine at once, so that it learns why
            // instead of waiting for ever.
            refused.set(Some(error));
            event_loop.call_soon(move |event_loop| resume_once(&resume, event_loop));
        }
    }
}

/// A reader for `fd` that runs once: it unregisters itself, marks the
/// timeline and resumes the coroutine. asyncio's readers stay until removed;
/// a coroutine that wants more data registers again when it next waits.
fn one_shot_reader(
    selector_loop: &SelectorLoop,
    fd: RawFd,
    resume: Rc<Cell<Option<Callback>>>,
) -> impl Fn(&EventLoop) + 'static {
    // A reader is handed the `EventLoop`, not the `SelectorLoop`, so it keeps
    // a clone of the latter to remove itself with.
    let selector_loop = selector_loop.clone();
    move |event_loop| {
        selector_loop.remove_reader(fd);
        event_loop.record(fd_ready_mark());
        resume_once(&resume, event_loop);
    }
}

fn resume_once(resume: &Cell<Option<Callback>>, event_loop: &EventLoop) {
    if let Some(resume) = resume.take() {
        resume(event_loop);
    }
}

// ANCHOR_END: readable

// ANCHOR: helpers
/// `await sleep(delay)`, for coroutines that yield [`IoEvent`]s.
pub async fn sleep(co: &Yielder<IoEvent>, delay: Duration) {
    sleep_until(co, co.now() + delay).await;
}

/// Sleep until the loop's clock reads `when` (at once if it has passed).
pub async fn sleep_until(co: &Yielder<IoEvent>, when: Duration) {
    co.yield_value(IoEvent::Sleep(SleepUntil(when))).await;
}

/// Wait until `fd` is readable. `Err` if the loop refused to watch it; then
/// the coroutine was resumed at once, without waiting.
pub async fn readable(
    co: &Yielder<IoEvent>,
    event_loop: &SelectorLoop,
    fd: RawFd,
) -> Result<(), SelectorError> {
    let refused = Rc::new(Cell::new(None));
    let event = Readable {
        fd,
        event_loop: event_loop.clone(),
        refused: Rc::clone(&refused),
    };
    co.yield_value(IoEvent::Readable(event)).await;
    refused.take().map_or(Ok(()), Err)
}

/// asyncio's `sock_recv(sock, max)`, for anything with a descriptor: wait
/// until `reader` is readable, then read at most `max` bytes. An empty
/// result means the end of the file (or a `max` of 0).
///
/// It waits *before* it reads, even if data may be there already. asyncio
/// tries the read first and waits only if it would block, so a coroutine
/// that reads a socket that always has data never gives the loop a turn.
/// Here every read goes through the loop once, and a descriptor that is
/// always ready cannot starve the timers.
pub async fn read<R: Read + AsRawFd>(
    co: &Yielder<IoEvent>,
    event_loop: &SelectorLoop,
    reader: &mut R,
    max: usize,
) -> io::Result<Vec<u8>> {
    let mut buffer = vec![0; max];
    loop {
        let watched = readable(co, event_loop, reader.as_raw_fd()).await;
        // Read even if the loop refused to watch: for a closed descriptor,
        // the read's own error (EBADF) says best what is wrong.
        match reader.read(&mut buffer) {
            Ok(count) => {
                buffer.truncate(count);
                return Ok(buffer);
            }
            // Readiness is a hint, not a promise: someone else may have read
            // the data first. Wait again, unless waiting is what failed.
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                if let Err(refusal) = watched {
                    return Err(io::Error::other(refusal));
                }
            }
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
}
// ANCHOR_END: helpers
