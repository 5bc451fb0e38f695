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
//!
//! Making it fast: a byte written and read costs two system calls per
//! callback, though the loop only needs it while it may be asleep. A loop
//! that looks before it sleeps (`SelectorPoller::set_idle_spin`) makes the
//! pipe *quiet*: it says when it may sleep, looks in the queue itself the
//! rest of the time, and the writer writes only while it may sleep, as
//! tokio's driver is unparked only when parked.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::panic::Location;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use stage02_timed_events::LoopError;

/// A callback for a loop of type `L`, sent from another thread, and where it
/// was sent from.
pub(crate) type Sent<L> = (Box<dyn FnOnce(&L) + Send>, &'static Location<'static>);

/// How another thread wakes a selector that can be woken its own way
/// (stage 6's: mio's `Waker`, an eventfd that epoll watches), instead of
/// by a byte down the self-pipe.
pub type WakeUp = Box<dyn Fn() + Send + Sync>;

/// The loop's end of the channel: the socket it watches, or, for a
/// selector woken its own way, the descriptor number it reports that under.
pub(crate) struct SelfPipe<L> {
    /// `None` when the selector is woken its own way.
    receiver: Option<UnixStream>,
    fd: RawFd,
    shared: Arc<Shared<L>>,
    /// Whether the loop tells when it may sleep (see the module's notes).
    quiet: bool,
}

/// What the loop and every [`Remote`] share: `None` once the loop is closed.
struct Shared<L> {
    open: Mutex<Option<Open<L>>>,
    /// Whether the loop may be asleep in its selector: always, unless the
    /// pipe is quiet.
    may_sleep: AtomicBool,
}

struct Open<L> {
    sender: Sender,
    queue: VecDeque<Sent<L>>,
}

/// What a writer does to wake the loop.
enum Sender {
    /// asyncio's way: a byte down the self-pipe.
    Byte(UnixStream),
    /// The selector's own way.
    WakeUp(WakeUp),
}

impl Sender {
    fn wake(&self) {
        match self {
            // A full socket already holds a wake-up byte the loop has not
            // read: one more would say nothing new, so "would block" is
            // fine. The socket is open while the loop is, so nothing else
            // can fail here.
            Sender::Byte(socket) => {
                let _ = (&*socket).write(&[1]);
            }
            Sender::WakeUp(wake) => wake(),
        }
    }
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
        if self.shared.may_sleep.load(Ordering::SeqCst) {
            open.sender.wake();
        }
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
        let fd = receiver.as_raw_fd();
        Ok(Self::with(Some(receiver), fd, Sender::Byte(sender)))
    }

    /// A channel whose writers wake the selector its own way (`wake`),
    /// which reports it as `fd` readable.
    pub(crate) fn woken_by(fd: RawFd, wake: WakeUp) -> Self {
        Self::with(None, fd, Sender::WakeUp(wake))
    }

    fn with(receiver: Option<UnixStream>, fd: RawFd, sender: Sender) -> Self {
        let open = Open {
            sender,
            queue: VecDeque::new(),
        };
        let shared = Arc::new(Shared {
            open: Mutex::new(Some(open)),
            may_sleep: AtomicBool::new(true),
        });
        Self {
            receiver,
            fd,
            shared,
            quiet: false,
        }
    }

    /// The descriptor the loop must watch for readability (or the one a
    /// selector woken its own way reports).
    pub(crate) fn fd(&self) -> RawFd {
        self.fd
    }

    /// Whether the loop must register the pipe with its selector: not when
    /// the selector is woken its own way.
    pub(crate) fn is_watched(&self) -> bool {
        self.receiver.is_some()
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
        if let Some(receiver) = &self.receiver {
            while matches!((&*receiver).read(&mut bytes), Ok(n) if n == bytes.len()) {}
        }
        self.take_sent()
    }

    // ANCHOR: quiet
    /// Making it fast: from now on (`true`) the loop says when it may
    /// sleep, and looks in the queue itself otherwise; writers write only
    /// while it may sleep.
    pub(crate) fn set_quiet(&mut self, quiet: bool) {
        self.quiet = quiet;
        self.shared.may_sleep.store(!quiet, Ordering::SeqCst);
        if let Some(open) = self.shared.lock().as_ref().filter(|_| !quiet) {
            // Sent while quiet, without a byte: the selector must see one.
            if !open.queue.is_empty() {
                open.sender.wake();
            }
        }
    }

    /// The loop is about to wait in its selector: whether a callback was
    /// sent that it has not taken (then it must not wait). A quiet pipe
    /// says first that the loop may sleep, then looks: a callback sent
    /// before the look is seen; one sent after it sees the loop may sleep,
    /// and writes its byte.
    pub(crate) fn sent_before_sleep(&self) -> bool {
        if !self.quiet {
            return false;
        }
        self.shared.may_sleep.store(true, Ordering::SeqCst);
        self.has_sent()
    }

    /// The loop is awake again: a quiet pipe is not written to from now on.
    pub(crate) fn awake(&self) {
        if self.quiet {
            self.shared.may_sleep.store(false, Ordering::SeqCst);
        }
    }

    /// Whether the pipe is quiet: then the loop takes what was sent in
    /// every iteration, whether or not a byte came.
    pub(crate) fn is_quiet(&self) -> bool {
        self.quiet
    }

    /// Whether a callback was sent that the loop has not taken.
    pub(crate) fn has_sent(&self) -> bool {
        self.shared
            .lock()
            .as_ref()
            .is_some_and(|open| !open.queue.is_empty())
    }

    /// Every callback sent so far, without reading the socket.
    pub(crate) fn take_sent(&self) -> Vec<Sent<L>> {
        match self.shared.lock().as_mut() {
            Some(open) => open.queue.drain(..).collect(),
            None => Vec::new(),
        }
    }
    // ANCHOR_END: quiet

    /// The loop is closing: refuse every later call, close the sending end,
    /// and hand back what was sent and never run, for the loop to drop.
    pub(crate) fn close(&self) -> Vec<Sent<L>> {
        let open = self.shared.lock().take();
        open.map(|open| open.queue.into()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn readable(pipe: &SelfPipe<()>) -> bool {
        let receiver = pipe.receiver.as_ref().expect("a self-pipe");
        (&*receiver).read(&mut [0; 64]).is_ok()
    }

    #[test]
    fn every_call_writes_a_byte_unless_the_pipe_is_quiet() {
        let mut pipe = SelfPipe::<()>::new().unwrap();
        let remote = pipe.remote();
        remote.call_soon_threadsafe(|()| {}).unwrap();
        assert!(readable(&pipe), "asyncio's way: a byte per call");
        pipe.set_quiet(true);
        pipe.awake();
        remote.call_soon_threadsafe(|()| {}).unwrap();
        assert!(!readable(&pipe), "the loop is awake: no byte");
        assert_eq!(pipe.take_sent().len(), 2, "but the callbacks are there");
        assert!(
            !pipe.sent_before_sleep(),
            "nothing left: the loop may sleep"
        );
        remote.call_soon_threadsafe(|()| {}).unwrap();
        assert!(readable(&pipe), "it may sleep: a byte");
        pipe.awake();
        assert!(pipe.sent_before_sleep(), "a call not taken: do not sleep");
    }

    #[test]
    fn a_pipe_no_longer_quiet_writes_the_byte_its_calls_did_not() {
        let mut pipe = SelfPipe::<()>::new().unwrap();
        let remote = pipe.remote();
        pipe.set_quiet(true);
        remote.call_soon_threadsafe(|()| {}).unwrap();
        assert!(!readable(&pipe));
        pipe.set_quiet(false);
        assert!(readable(&pipe), "else the loop would sleep past the call");
    }
}
