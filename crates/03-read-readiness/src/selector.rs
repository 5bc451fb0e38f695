//! A selector: which of these file descriptors can I read or write without
//! blocking?
//!
//! Mirrors `BaseSelector` and `_BaseSelectorImpl` in CPython's
//! `selectors.py`: `register`, `modify`, `unregister`, `get_key` and
//! `select(timeout)`, with the bookkeeping in one place and the system call
//! left to each kind of selector ([`SelectSelector`] for `select(2)`,
//! [`PollSelector`] for `poll(2)`). Both are level-triggered: a descriptor
//! with unread data is reported again at every call, until the data is read.
//!
//! [`SelectSelector`]: crate::select::SelectSelector
//! [`PollSelector`]: crate::poll::PollSelector

use std::collections::BTreeMap;
use std::os::fd::RawFd;
use std::time::Duration;
use std::{fmt, io};

use crate::self_pipe::WakeUp;

/// What a descriptor is watched for, or found ready for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Interest {
    /// Readable: a read would not block (data, end of file, or an error).
    pub read: bool,
    /// Writable: a write would not block.
    pub write: bool,
}

impl Interest {
    /// Readable only.
    pub const READ: Interest = Interest {
        read: true,
        write: false,
    };
    /// Writable only.
    pub const WRITE: Interest = Interest {
        read: false,
        write: true,
    };
    /// Both.
    pub const BOTH: Interest = Interest {
        read: true,
        write: true,
    };

    /// Neither read nor write.
    pub fn is_empty(self) -> bool {
        !self.read && !self.write
    }

    /// What both `self` and `other` ask for.
    pub fn and(self, other: Interest) -> Interest {
        Interest {
            read: self.read && other.read,
            write: self.write && other.write,
        }
    }
}

/// Why a selector refused a request.
#[derive(Debug)]
pub enum SelectorError {
    /// `register` of a descriptor already registered (use `modify`).
    AlreadyRegistered(RawFd),
    /// `modify` or `unregister` of a descriptor never registered.
    NotRegistered(RawFd),
    /// The descriptor is not open (never was, or was closed since).
    BadDescriptor(RawFd),
    /// Registered with no interest at all: nothing could ever be reported.
    NoInterest(RawFd),
    /// Another coroutine is already waiting on this descriptor for the same
    /// thing: a second reader (or writer) would replace the first, whose
    /// coroutine would never wake.
    Busy(RawFd),
    /// `select(2)` cannot watch descriptors at or above `FD_SETSIZE`.
    TooHigh {
        /// The descriptor.
        fd: RawFd,
        /// The limit, `FD_SETSIZE` (1024 on Linux).
        limit: usize,
    },
    /// The loop that owns the selector was closed.
    Closed,
    /// The system call failed for another reason.
    Io(io::Error),
}

impl fmt::Display for SelectorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SelectorError::AlreadyRegistered(fd) => {
                write!(f, "file descriptor {fd} is already registered; use modify")
            }
            SelectorError::NotRegistered(fd) => write!(f, "file descriptor {fd} is not registered"),
            SelectorError::BadDescriptor(fd) => {
                write!(
                    f,
                    "file descriptor {fd} is not open (closed, or never opened)"
                )
            }
            SelectorError::Busy(fd) => {
                write!(
                    f,
                    "another coroutine is already waiting on file descriptor {fd}"
                )
            }
            SelectorError::NoInterest(fd) => {
                write!(
                    f,
                    "file descriptor {fd} registered for neither reading nor writing"
                )
            }
            SelectorError::TooHigh { fd, limit } => write!(
                f,
                "file descriptor {fd} is too high for select(), which takes only 0 to {}; use poll",
                limit - 1
            ),
            SelectorError::Closed => write!(f, "the event loop is closed"),
            SelectorError::Io(error) => write!(f, "{error}"),
        }
    }
}

impl std::error::Error for SelectorError {}

/// Whether `fd` names an open file description.
pub fn is_open(fd: RawFd) -> bool {
    // SAFETY: `fcntl(F_GETFD)` only reads the descriptor's flags. Any integer
    // is a valid argument: an unknown one fails with EBADF, touching nothing.
    #[allow(unsafe_code)]
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
    flags != -1
}

// ANCHOR: selector
/// asyncio's `SelectorKey`: what a descriptor is watched for, and the data
/// its owner keeps with it (asyncio's loop keeps the reader and the writer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectorKey<D> {
    /// What the descriptor is watched for.
    pub events: Interest,
    /// The owner's data.
    pub data: D,
}

/// The registrations, by descriptor: asyncio's `_fd_to_key`.
pub type Keys<D> = BTreeMap<RawFd, SelectorKey<D>>;

/// Python's `selectors.BaseSelector`: register descriptors with what to
/// watch them for, then ask which are ready. The bookkeeping is the same
/// for every kind of selector (Python's `_BaseSelectorImpl`), so it is
/// written once, here; each kind brings its system call, in
/// [`select`](Selector::select): `select(2)` for [`SelectSelector`],
/// `poll(2)` for [`PollSelector`].
///
/// [`SelectSelector`]: crate::select::SelectSelector
/// [`PollSelector`]: crate::poll::PollSelector
pub trait Selector {
    /// What the owner keeps with each descriptor.
    type Data;

    /// The registrations.
    fn keys(&self) -> &Keys<Self::Data>;

    /// The registrations, to change them.
    fn keys_mut(&mut self) -> &mut Keys<Self::Data>;

    /// Refuse descriptors this kind of selector cannot watch.
    fn check(&self, _fd: RawFd) -> Result<(), SelectorError> {
        Ok(())
    }

    /// Wait at most `timeout` (`None`: without limit) for registered
    /// descriptors to be ready, and replace the contents of `ready` with
    /// them, in descriptor order, each with what it is ready for. Interrupted
    /// by a signal (EINTR), it waits again for what is left of the timeout,
    /// as Python does since PEP 475.
    fn select(
        &mut self,
        timeout: Option<Duration>,
        ready: &mut Vec<(RawFd, Interest)>,
    ) -> Result<(), SelectorError>;
    // ANCHOR_END: selector

    /// Watch `fd` for `events`, keeping `data` with it.
    fn register(
        &mut self,
        fd: RawFd,
        events: Interest,
        data: Self::Data,
    ) -> Result<(), SelectorError> {
        if self.keys().contains_key(&fd) {
            return Err(SelectorError::AlreadyRegistered(fd));
        }
        self.refuse_what_cannot_work(fd, events)?;
        self.keys_mut().insert(fd, SelectorKey { events, data });
        Ok(())
    }

    /// Watch `fd`, already registered, for `events` instead.
    fn modify(&mut self, fd: RawFd, events: Interest) -> Result<(), SelectorError> {
        if !self.keys().contains_key(&fd) {
            return Err(SelectorError::NotRegistered(fd));
        }
        self.refuse_what_cannot_work(fd, events)?;
        let key = self.keys_mut().get_mut(&fd).expect("registered");
        key.events = events;
        Ok(())
    }

    /// Stop watching `fd`, and hand back its data. Works on a descriptor
    /// closed since it was registered: that is the usual order when a
    /// connection ends.
    fn unregister(&mut self, fd: RawFd) -> Result<Self::Data, SelectorError> {
        let key = self.keys_mut().remove(&fd);
        key.map(|key| key.data)
            .ok_or(SelectorError::NotRegistered(fd))
    }

    /// An operation on `fd` found it not ready for `what` after all (it
    /// answered "would block"). A level-triggered selector, as every one in
    /// this stage is, asks the kernel afresh at each `select` and needs no
    /// telling; an edge-triggered one (stage 6's, on epoll) keeps reporting
    /// what it was last told until it hears this.
    fn forget_readiness(&mut self, _fd: RawFd, _what: Interest) {}

    /// A selector that can be woken from another thread its own way
    /// (stage 6's epoll, through mio's `Waker`) hands the loop how, and the
    /// descriptor number under which `select` reports a wake-up as
    /// readable. `None`, the default: the loop makes a self-pipe and
    /// watches it, as asyncio does.
    ///
    /// # Errors
    /// If the selector cannot make its way of waking.
    fn own_wake_up(&mut self) -> Result<Option<(RawFd, WakeUp)>, SelectorError> {
        Ok(None)
    }

    /// asyncio's `get_key`: what `fd` is registered for, and its data.
    fn get_key(&self, fd: RawFd) -> Option<&SelectorKey<Self::Data>> {
        self.keys().get(&fd)
    }

    /// The same, to change the data.
    fn get_key_mut(&mut self, fd: RawFd) -> Option<&mut SelectorKey<Self::Data>> {
        self.keys_mut().get_mut(&fd)
    }

    /// Refuse a registration that could never be reported or never work.
    fn refuse_what_cannot_work(&self, fd: RawFd, events: Interest) -> Result<(), SelectorError> {
        if events.is_empty() {
            return Err(SelectorError::NoInterest(fd));
        }
        if fd < 0 || !is_open(fd) {
            return Err(SelectorError::BadDescriptor(fd));
        }
        self.check(fd)
    }
}

/// A boxed selector is a selector, so that which kind to use can be chosen
/// at run time (the demo's `--poll`).
impl<S: Selector + ?Sized> Selector for Box<S> {
    type Data = S::Data;

    fn keys(&self) -> &Keys<S::Data> {
        (**self).keys()
    }

    fn keys_mut(&mut self) -> &mut Keys<S::Data> {
        (**self).keys_mut()
    }

    fn check(&self, fd: RawFd) -> Result<(), SelectorError> {
        (**self).check(fd)
    }

    // What a selector may do its own way, passed on too.
    fn register(
        &mut self,
        fd: RawFd,
        events: Interest,
        data: S::Data,
    ) -> Result<(), SelectorError> {
        (**self).register(fd, events, data)
    }

    fn modify(&mut self, fd: RawFd, events: Interest) -> Result<(), SelectorError> {
        (**self).modify(fd, events)
    }

    fn unregister(&mut self, fd: RawFd) -> Result<S::Data, SelectorError> {
        (**self).unregister(fd)
    }

    fn forget_readiness(&mut self, fd: RawFd, what: Interest) {
        (**self).forget_readiness(fd, what);
    }

    fn own_wake_up(&mut self) -> Result<Option<(RawFd, WakeUp)>, SelectorError> {
        (**self).own_wake_up()
    }

    fn select(
        &mut self,
        timeout: Option<Duration>,
        ready: &mut Vec<(RawFd, Interest)>,
    ) -> Result<(), SelectorError> {
        (**self).select(timeout, ready)
    }
}

/// When a wait must end, for retrying it after a signal interrupted it
/// (EINTR) with what is left of the timeout.
pub struct Deadline {
    timeout: Option<Duration>,
    ends: Option<std::time::Instant>,
}

impl Deadline {
    /// Reads the clock only for a timeout that is neither absent nor zero:
    /// most waits of a busy loop are zero, and a clock read is a system call
    /// on some machines.
    pub fn after(timeout: Option<Duration>) -> Self {
        let now = || std::time::Instant::now();
        let ends = timeout
            .filter(|t| !t.is_zero())
            .and_then(|t| now().checked_add(t));
        Self { timeout, ends }
    }

    /// The timeout to wait again with.
    pub fn remaining(&self) -> Option<Duration> {
        match (self.timeout, self.ends) {
            (Some(_), Some(end)) => Some(end.saturating_duration_since(std::time::Instant::now())),
            (timeout, _) => timeout,
        }
    }
}

/// After a failed wait: which registered descriptor was closed behind the
/// selector's back? The kernel says only "a bad descriptor" (EBADF).
pub(crate) fn find_closed<D>(registered: &Keys<D>) -> SelectorError {
    match registered.keys().find(|&&fd| !is_open(fd)) {
        Some(&fd) => SelectorError::BadDescriptor(fd),
        None => SelectorError::Io(io::Error::from_raw_os_error(libc::EBADF)),
    }
}
