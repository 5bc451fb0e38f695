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
use std::sync::{Arc, Mutex, PoisonError};

use stage02_timed_events::{EventLoop, Ready};

/// A callback sent from another thread.
type Sent = (
    Box<dyn FnOnce(&EventLoop) + Send>,
    &'static Location<'static>,
);

/// The two ends of the wake-up channel and the queue of sent callbacks.
pub(crate) struct Wakeup {
    /// The end the loop watches for readability.
    receiver: UnixStream,
    shared: Arc<Shared>,
}

struct Shared {
    sender: UnixStream,
    queue: Mutex<VecDeque<Sent>>,
}

// ANCHOR: remote
/// asyncio's `call_soon_threadsafe`, as a handle another thread can own.
/// Clones send to the same loop.
#[derive(Clone)]
pub struct Remote {
    shared: Arc<Shared>,
}

impl Remote {
    /// Run `callback` on the loop's thread, in the loop's next iteration,
    /// waking the loop if it is waiting.
    #[track_caller]
    pub fn call_soon_threadsafe(&self, callback: impl FnOnce(&EventLoop) + Send + 'static) {
        let sent: Sent = (Box::new(callback), Location::caller());
        let mut queue = self
            .shared
            .queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        queue.push_back(sent);
        drop(queue);
        // A full socket already holds a wake-up byte the loop has not read:
        // one more would say nothing new, so "would block" is fine here.
        match (&self.shared.sender).write(&[1]) {
            Ok(_) => {}
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
            Err(error) => panic!("cannot wake the event loop: {error}"),
        }
    }
}
// ANCHOR_END: remote

impl Wakeup {
    /// A fresh channel, both ends non-blocking.
    pub(crate) fn new() -> io::Result<Self> {
        let (receiver, sender) = UnixStream::pair()?;
        receiver.set_nonblocking(true)?;
        sender.set_nonblocking(true)?;
        let shared = Arc::new(Shared {
            sender,
            queue: Mutex::new(VecDeque::new()),
        });
        Ok(Self { receiver, shared })
    }

    /// The descriptor the loop must watch for readability.
    pub(crate) fn fd(&self) -> RawFd {
        self.receiver.as_raw_fd()
    }

    /// A handle for other threads.
    pub(crate) fn remote(&self) -> Remote {
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
    pub(crate) fn drain(&self, ready: &mut Vec<Ready>) {
        // Stop at the first read that does not fill the buffer, rather than
        // read again until "would block" as CPython's `_read_from_self` does:
        // that last read is a system call that finds nothing. A byte written
        // after this read keeps the socket readable (the selector is
        // level-triggered), so no wake-up is lost; and the queue is drained
        // after the bytes, so no callback waits for a wake-up already read.
        let mut bytes = [0; 64];
        while matches!((&self.receiver).read(&mut bytes), Ok(n) if n == bytes.len()) {}
        let mut queue = self
            .shared
            .queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        for (callback, registered_at) in queue.drain(..) {
            ready.push(Ready {
                callback,
                registered_at,
            });
        }
    }
}
