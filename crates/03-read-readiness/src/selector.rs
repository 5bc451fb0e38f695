//! A selector: which of these file descriptors can I read or write without
//! blocking?
//!
//! Mirrors `_BaseSelectorImpl` in CPython's `selectors.py`: `register`,
//! `modify`, `unregister` and `select(timeout)`, with the bookkeeping in one
//! place and the system call left to each implementation ([`Select`] for
//! `select(2)`, [`Poll`] for `poll(2)`). Both are level-triggered: a
//! descriptor with unread data is reported again at every call, until the
//! data is read.
//!
//! [`Select`]: crate::select::Select
//! [`Poll`]: crate::poll::Poll

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::os::fd::RawFd;
use std::time::Duration;

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
    /// Another coroutine is already waiting to read this descriptor: a second
    /// reader would replace the first, whose coroutine would never wake.
    Busy(RawFd),
    /// `select(2)` cannot watch descriptors at or above `FD_SETSIZE`.
    TooHigh {
        /// The descriptor.
        fd: RawFd,
        /// The limit, `FD_SETSIZE` (1024 on Linux).
        limit: usize,
    },
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
                    "another coroutine is already waiting to read file descriptor {fd}"
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

// ANCHOR: wait
/// The system call behind a selector: wait until one of the registered
/// descriptors is ready, or the timeout passes.
pub trait Wait {
    /// Refuse descriptors this system call cannot watch.
    fn check(&self, fd: RawFd) -> Result<(), SelectorError>;

    /// Wait at most `timeout` (`None`: without limit) and append each ready
    /// descriptor, with what it is ready for, to `ready`. Interrupted by a
    /// signal (EINTR), it waits again for what is left of the timeout, as
    /// Python does since PEP 475.
    fn wait(
        &mut self,
        registered: &BTreeMap<RawFd, Interest>,
        timeout: Option<Duration>,
        ready: &mut Vec<(RawFd, Interest)>,
    ) -> Result<(), SelectorError>;
}

/// Registrations, and a system call to wait on them. Each registration
/// carries `data` of the caller's choosing, as a `SelectorKey` does in
/// Python: asyncio's loop keeps a descriptor's reader and writer there.
pub struct Selector<W, D = ()> {
    /// What the system call needs: descriptor and interest, in order.
    registered: BTreeMap<RawFd, Interest>,
    data: BTreeMap<RawFd, D>,
    wait: W,
}
// ANCHOR_END: wait

impl<W: Wait, D> Selector<W, D> {
    /// A selector with nothing registered, waiting with `wait`.
    pub fn new(wait: W) -> Self {
        Self {
            registered: BTreeMap::new(),
            data: BTreeMap::new(),
            wait,
        }
    }

    /// Watch `fd` for `interest`, keeping `data` with it.
    pub fn register(
        &mut self,
        fd: RawFd,
        interest: Interest,
        data: D,
    ) -> Result<(), SelectorError> {
        if self.registered.contains_key(&fd) {
            return Err(SelectorError::AlreadyRegistered(fd));
        }
        self.check(fd, interest)?;
        self.registered.insert(fd, interest);
        self.data.insert(fd, data);
        Ok(())
    }

    /// Watch `fd`, already registered, for `interest` instead.
    pub fn modify(&mut self, fd: RawFd, interest: Interest) -> Result<(), SelectorError> {
        if !self.registered.contains_key(&fd) {
            return Err(SelectorError::NotRegistered(fd));
        }
        self.check(fd, interest)?;
        self.registered.insert(fd, interest);
        Ok(())
    }

    /// Stop watching `fd`, and hand back its data. Works on a descriptor
    /// closed since it was registered: that is the usual order when a
    /// connection ends.
    pub fn unregister(&mut self, fd: RawFd) -> Result<D, SelectorError> {
        self.registered
            .remove(&fd)
            .and_then(|_| self.data.remove(&fd))
            .ok_or(SelectorError::NotRegistered(fd))
    }

    /// What `fd` is registered for, if it is.
    pub fn interest(&self, fd: RawFd) -> Option<Interest> {
        self.registered.get(&fd).copied()
    }

    /// The data registered with `fd`, if it is registered.
    pub fn data(&self, fd: RawFd) -> Option<&D> {
        self.data.get(&fd)
    }

    /// The data registered with `fd`, to change it.
    pub fn data_mut(&mut self, fd: RawFd) -> Option<&mut D> {
        self.data.get_mut(&fd)
    }

    /// The registered descriptors, in order.
    pub fn fds(&self) -> impl Iterator<Item = RawFd> + '_ {
        self.registered.keys().copied()
    }

    /// How many descriptors are registered.
    pub fn len(&self) -> usize {
        self.registered.len()
    }

    /// Whether none are.
    pub fn is_empty(&self) -> bool {
        self.registered.is_empty()
    }

    /// Wait at most `timeout` for registered descriptors to be ready; replace
    /// the contents of `ready` with them, in descriptor order.
    pub fn select(
        &mut self,
        timeout: Option<Duration>,
        ready: &mut Vec<(RawFd, Interest)>,
    ) -> Result<(), SelectorError> {
        ready.clear();
        self.wait.wait(&self.registered, timeout, ready)
    }

    fn check(&self, fd: RawFd, interest: Interest) -> Result<(), SelectorError> {
        if interest.is_empty() {
            return Err(SelectorError::NoInterest(fd));
        }
        if fd < 0 || !is_open(fd) {
            return Err(SelectorError::BadDescriptor(fd));
        }
        self.wait.check(fd)
    }
}

/// When a wait must end, for retrying it after a signal interrupted it
/// (EINTR) with what is left of the timeout.
pub(crate) struct Deadline {
    timeout: Option<Duration>,
    ends: Option<std::time::Instant>,
}

impl Deadline {
    /// Reads the clock only for a timeout that is neither absent nor zero:
    /// most waits of a busy loop are zero, and a clock read is a system call
    /// on some machines.
    pub(crate) fn after(timeout: Option<Duration>) -> Self {
        let now = || std::time::Instant::now();
        let ends = timeout
            .filter(|t| !t.is_zero())
            .and_then(|t| now().checked_add(t));
        Self { timeout, ends }
    }

    /// The timeout to wait again with.
    pub(crate) fn remaining(&self) -> Option<Duration> {
        match (self.timeout, self.ends) {
            (Some(_), Some(end)) => Some(end.saturating_duration_since(std::time::Instant::now())),
            (timeout, _) => timeout,
        }
    }
}

/// After a failed wait: which registered descriptor was closed behind the
/// selector's back? The kernel says only "a bad descriptor" (EBADF).
pub(crate) fn find_closed(registered: &BTreeMap<RawFd, Interest>) -> SelectorError {
    match registered.keys().find(|&&fd| !is_open(fd)) {
        Some(&fd) => SelectorError::BadDescriptor(fd),
        None => SelectorError::Io(io::Error::from_raw_os_error(libc::EBADF)),
    }
}
