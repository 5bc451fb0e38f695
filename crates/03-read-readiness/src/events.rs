//! Coroutines that wait for a file descriptor to be readable or writable, as
//! well as for time.
//!
//! Mirrors `BaseSelectorEventLoop.sock_recv` and its reader callback
//! `_sock_recv` in CPython's `asyncio/selector_events.py`, and the "read
//! event" of "How does asyncio enable parallel IO waits?": the coroutine
//! yields "wake me when this descriptor is readable"; the event registers a
//! reader with `add_reader`; when the selector finds the descriptor readable,
//! the reader removes itself and resumes the coroutine, which then reads.
//! (`sock_recv` removes its reader in a done-callback of a future; futures
//! come in stage 4.) Writability works the same way, with a writer.
//!
//! Stage 2's [`Event`] trait does the dispatch: an [`IoEvent`] is either
//! stage 2's [`SleepUntil`] or a [`Readiness`], and each knows how to
//! arrange the coroutine's resume. The stage 2 driver runs these coroutines
//! unchanged.

use std::cell::Cell;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, RawFd};
use std::rc::Rc;

use demo_support::{EventKind, Mark};
use stage01_generator_loop::Yielder;
use stage02_timed_events::{AbstractEventLoop, Event, Handle, SleepUntil};

use crate::selector::{Interest, SelectorError};
use crate::selector_events::{SelectorEventLoop, SelectorEvents, SelectorPoller};

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
    /// Resume me when this descriptor is readable, or writable.
    Ready(Readiness),
}

/// "Resume me when `fd` is ready for `what`": readable (there is data, the
/// end of the file, or an error to read) or writable. Made by [`readable`]
/// and [`writable`], which read the outcome back.
pub struct Readiness {
    fd: RawFd,
    what: Interest,
    /// Where `schedule` leaves the loop's refusal to watch `fd`, if it refused.
    refused: Rc<Cell<Option<SelectorError>>>,
}

impl From<SleepUntil> for IoEvent {
    fn from(sleep: SleepUntil) -> Self {
        IoEvent::Sleep(sleep)
    }
}

impl Event<SelectorEventLoop> for IoEvent {
    fn schedule(
        self,
        event_loop: &SelectorEventLoop,
        resume: impl FnOnce(&SelectorEventLoop) + 'static,
    ) -> Handle<SelectorPoller> {
        match self {
            IoEvent::Sleep(sleep) => sleep.schedule(event_loop, resume),
            IoEvent::Ready(readiness) => readiness.schedule(event_loop, resume),
        }
    }
}
// ANCHOR_END: io_event

/// The resume of a coroutine, for whichever runs first to take.
type Resume = Rc<Cell<Option<Box<dyn FnOnce(&SelectorEventLoop)>>>>;

// ANCHOR: readiness
impl Event<SelectorEventLoop> for Readiness {
    fn schedule(
        self,
        event_loop: &SelectorEventLoop,
        resume: impl FnOnce(&SelectorEventLoop) + 'static,
    ) -> Handle<SelectorPoller> {
        let Readiness { fd, what, refused } = self;
        let resume: Resume = Rc::new(Cell::new(Some(Box::new(resume))));
        let busy = if what.read {
            event_loop.has_reader(fd)
        } else {
            event_loop.has_writer(fd)
        };
        let added = if busy {
            // A second reader would replace the first, whose coroutine would
            // then never be resumed.
            Err(SelectorError::Busy(fd))
        } else if what.read {
            event_loop.add_reader(fd, one_shot(fd, what, Rc::clone(&resume)))
        } else {
            event_loop.add_writer(fd, one_shot(fd, what, Rc::clone(&resume)))
        };
        added.unwrap_or_else(|error| {
            // The loop cannot watch `fd` (closed, never opened, too high for
            // `select`): resume the coroutine at once, so that it learns why
            // instead of waiting for ever.
            refused.set(Some(error));
            let resume_now =
                event_loop.call_soon(move |event_loop| resume_once(&resume, event_loop));
            resume_now.expect("a coroutine runs only on a running loop, which is open")
        })
    }
}

/// A reader or writer for `fd` that runs once: it removes itself (it is
/// handed the loop, so it needs no clone of it), marks the timeline and
/// resumes the coroutine. asyncio's readers stay until removed; a coroutine
/// that wants more data registers again when it next waits.
fn one_shot(fd: RawFd, what: Interest, resume: Resume) -> impl Fn(&SelectorEventLoop) + 'static {
    move |event_loop| {
        if what.read {
            event_loop.remove_reader(fd);
        } else {
            event_loop.remove_writer(fd);
        }
        event_loop.record(fd_ready_mark);
        resume_once(&resume, event_loop);
    }
}

fn resume_once(resume: &Resume, event_loop: &SelectorEventLoop) {
    if let Some(resume) = resume.take() {
        resume(event_loop);
    }
}
// ANCHOR_END: readiness

// ANCHOR: helpers
/// Wait until `fd` is readable. `Err` if the loop refused to watch it; then
/// the coroutine was resumed at once, without waiting.
pub async fn readable(co: &Yielder<IoEvent>, fd: RawFd) -> Result<(), SelectorError> {
    wait_until_ready(co, fd, Interest::READ).await
}

/// Wait until `fd` is writable: a write of a little would not block.
pub async fn writable(co: &Yielder<IoEvent>, fd: RawFd) -> Result<(), SelectorError> {
    wait_until_ready(co, fd, Interest::WRITE).await
}

async fn wait_until_ready(
    co: &Yielder<IoEvent>,
    fd: RawFd,
    what: Interest,
) -> Result<(), SelectorError> {
    let refused = Rc::new(Cell::new(None));
    let event = Readiness {
        fd,
        what,
        refused: Rc::clone(&refused),
    };
    co.yield_value(IoEvent::Ready(event)).await;
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
    reader: &mut R,
    max: usize,
) -> io::Result<Vec<u8>> {
    let mut buffer = vec![0; max];
    loop {
        let watched = readable(co, reader.as_raw_fd()).await;
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
