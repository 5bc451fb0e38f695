//! Waking a sleeping loop from another thread.
//!
//! Mirrors the self-pipe of `BaseSelectorEventLoop` in CPython's
//! `asyncio/selector_events.py` (`_make_self_pipe`, `_write_to_self`,
//! `_read_from_self`) and `call_soon_threadsafe` in `base_events.py`. The loop
//! may be blocked in `select` with no timeout at all. Another thread cannot
//! touch the loop's queues (they are not thread-safe, and the loop would not
//! look at them anyway until something woke it), so it leaves its callback in
//! a locked queue of its own and writes one byte to a socket whose other end
//! the loop watches. The byte makes `select` return; the loop drains the
//! socket and the queue, and runs the callbacks in the order they came.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::panic::Location;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use stage02_timed_events::LoopError;

/// A callback for a loop of type `L`, sent from another thread, and where it
/// was sent from.
pub(crate) type Sent<L> = (Box<dyn FnOnce(&L) + Send>, &'static Location<'static>);

/// The loop's end of the channel: the socket it watches.
pub(crate) struct SelfPipe<L> {
    receiver: UnixStream,
    shared: Arc<Shared<L>>,
}

/// What the loop and every [`Remote`] share: `None` once the loop is closed.
struct Shared<L> {
    open: Mutex<Option<Open<L>>>,
}

struct Open<L> {
    sender: UnixStream,
    queue: VecDeque<Sent<L>>,
}

// ANCHOR: remote
/// asyncio's `call_soon_threadsafe`, as a handle another thread can own,
/// for a loop of type `L` (a `SelectorEventLoop`). Clones send to the same
/// loop.
pub struct Remote<L> {
    shared: Arc<Shared<L>>,
}

impl<L> Remote<L> {
    /// Run `callback` on the loop's thread, in the loop's next iteration,
    /// waking the loop if it is waiting. [`LoopError::Closed`] (asyncio's
    /// "Event loop is closed") if the loop was closed or dropped; the
    /// callback is then dropped here.
    #[track_caller]
    pub fn call_soon_threadsafe(
        &self,
        callback: impl FnOnce(&L) + Send + 'static,
    ) -> Result<(), LoopError> {
        let mut open = self.shared.lock();
        let Some(open) = open.as_mut() else {
            return Err(LoopError::Closed);
        };
        open.queue
            .push_back((Box::new(callback), Location::caller()));
        // A full socket already holds a wake-up byte the loop has not read:
        // one more would say nothing new, so "would block" is fine. The
        // sender is open while the loop is, so nothing else can fail here.
        let _ = (&open.sender).write(&[1]);
        Ok(())
    }
}
// ANCHOR_END: remote

impl<L> Clone for Remote<L> {
    fn clone(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
        }
    }
}

/// Two remotes are equal when they reach the same loop: a waker can tell
/// whether the loop running in its thread is the one it wakes.
impl<L> PartialEq for Remote<L> {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

impl<L> Eq for Remote<L> {}

impl<L> Shared<L> {
    fn lock(&self) -> MutexGuard<'_, Option<Open<L>>> {
        self.open.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<L> SelfPipe<L> {
    /// A fresh channel, both ends non-blocking.
    pub(crate) fn new() -> io::Result<Self> {
        let (receiver, sender) = UnixStream::pair()?;
        receiver.set_nonblocking(true)?;
        sender.set_nonblocking(true)?;
        let open = Open {
            sender,
            queue: VecDeque::new(),
        };
        let shared = Arc::new(Shared {
            open: Mutex::new(Some(open)),
        });
        Ok(Self { receiver, shared })
    }

    /// The descriptor the loop must watch for readability.
    pub(crate) fn fd(&self) -> RawFd {
        self.receiver.as_raw_fd()
    }

    /// A handle for other threads.
    pub(crate) fn remote(&self) -> Remote<L> {
        Remote {
            shared: Arc::clone(&self.shared),
        }
    }

    /// Whether any `Remote` is held outside the loop: if not, no other thread
    /// can ever wake it.
    pub(crate) fn has_remotes(&self) -> bool {
        Arc::strong_count(&self.shared) > 1
    }

    /// Read the wake-up bytes, then hand over every callback sent so far.
    pub(crate) fn drain(&self) -> Vec<Sent<L>> {
        // Stop at the first read that does not fill the buffer, rather than
        // read again until "would block" as CPython's `_read_from_self` does:
        // that last read is a system call that finds nothing. A byte written
        // after this read keeps the socket readable (the selector is
        // level-triggered), so no wake-up is lost; and the queue is drained
        // after the bytes, so no callback waits for a wake-up already read.
        let mut bytes = [0; 64];
        while matches!((&self.receiver).read(&mut bytes), Ok(n) if n == bytes.len()) {}
        match self.shared.lock().as_mut() {
            Some(open) => open.queue.drain(..).collect(),
            None => Vec::new(),
        }
    }

    /// The loop is closing: refuse every later call, close the sending end,
    /// and hand back what was sent and never run, for the loop to drop.
    pub(crate) fn close(&self) -> Vec<Sent<L>> {
        let open = self.shared.lock().take();
        open.map(|open| open.queue.into()).unwrap_or_default()
    }
}
