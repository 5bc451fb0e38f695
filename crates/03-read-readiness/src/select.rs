//! `select(2)`: hand the kernel three bitmaps of descriptors, get back the
//! bits of the ready ones.
//!
//! Mirrors `SelectSelector` in CPython's `selectors.py`. Every call rebuilds
//! the bitmaps from the registrations and then tests every bit: the cost
//! grows with the number of descriptors watched, however few are ready. The
//! bitmaps have a fixed size, `FD_SETSIZE` bits (1024 on Linux), so a
//! descriptor numbered 1024 or more cannot be watched at all:
//! [`SelectSelector`] refuses it at registration instead of corrupting
//! memory later.

use std::io;
use std::os::fd::RawFd;
use std::time::Duration;

use crate::selector::{Deadline, Interest, Keys, Selector, SelectorError, find_closed};

/// Python's `selectors.SelectSelector`: a selector that waits in `select(2)`.
#[derive(Debug)]
pub struct SelectSelector<D = ()> {
    keys: Keys<D>,
}

impl<D> SelectSelector<D> {
    /// A selector with nothing registered.
    pub fn new() -> Self {
        Self { keys: Keys::new() }
    }
}

impl<D> Default for SelectSelector<D> {
    fn default() -> Self {
        Self::new()
    }
}

impl<D> Selector for SelectSelector<D> {
    type Data = D;

    fn keys(&self) -> &Keys<D> {
        &self.keys
    }

    fn keys_mut(&mut self) -> &mut Keys<D> {
        &mut self.keys
    }

    fn check(&self, fd: RawFd) -> Result<(), SelectorError> {
        let limit = libc::FD_SETSIZE;
        match usize::try_from(fd) {
            Ok(index) if index < limit => Ok(()),
            _ => Err(SelectorError::TooHigh { fd, limit }),
        }
    }

    // ANCHOR: select
    fn select(
        &mut self,
        timeout: Option<Duration>,
        ready: &mut Vec<(RawFd, Interest)>,
    ) -> Result<(), SelectorError> {
        ready.clear();
        let registered = &self.keys;
        let deadline = Deadline::after(timeout);
        let mut wait_for = timeout;
        loop {
            let mut readers = FdSet::new();
            let mut writers = FdSet::new();
            for (&fd, key) in registered {
                if key.events.read {
                    readers.insert(fd);
                }
                if key.events.write {
                    writers.insert(fd);
                }
            }
            let highest = registered.keys().next_back().map_or(-1, |&fd| fd);
            let mut time = wait_for.map(to_timeval);
            let time_ptr = time.as_mut().map_or(std::ptr::null_mut(), |t| t as *mut _);
            // SAFETY: both sets are initialised `fd_set`s that live across the
            // call; every descriptor in them is below FD_SETSIZE (`check`);
            // the timeout is null or points at a live `timeval`.
            #[allow(unsafe_code)]
            let result = unsafe {
                libc::select(
                    highest + 1,
                    readers.as_mut_ptr(),
                    writers.as_mut_ptr(),
                    std::ptr::null_mut(),
                    time_ptr,
                )
            };
            if result >= 0 {
                for (&fd, key) in registered {
                    let found = Interest {
                        read: readers.contains(fd),
                        write: writers.contains(fd),
                    };
                    let found = found.and(key.events);
                    if !found.is_empty() {
                        ready.push((fd, found));
                    }
                }
                return Ok(());
            }
            match io::Error::last_os_error() {
                error if error.kind() == io::ErrorKind::Interrupted => {
                    wait_for = deadline.remaining();
                }
                error if error.raw_os_error() == Some(libc::EBADF) => {
                    return Err(find_closed(registered));
                }
                error => return Err(SelectorError::Io(error)),
            }
        }
    }
    // ANCHOR_END: select
}

fn to_timeval(timeout: Duration) -> libc::timeval {
    libc::timeval {
        tv_sec: timeout.as_secs().try_into().unwrap_or(libc::time_t::MAX),
        tv_usec: timeout.subsec_micros().into(),
    }
}

/// A `libc::fd_set`, with the macros that handle it wrapped safely.
struct FdSet(libc::fd_set);

impl FdSet {
    fn new() -> Self {
        let mut set = std::mem::MaybeUninit::<libc::fd_set>::uninit();
        // SAFETY: FD_ZERO initialises every bit of the set it is given.
        #[allow(unsafe_code)]
        let set = unsafe {
            libc::FD_ZERO(set.as_mut_ptr());
            set.assume_init()
        };
        FdSet(set)
    }

    /// `fd` must be below FD_SETSIZE, which `SelectSelector::check` ensured.
    fn insert(&mut self, fd: RawFd) {
        // SAFETY: the set is initialised and `fd` is in range (see above).
        #[allow(unsafe_code)]
        unsafe {
            libc::FD_SET(fd, &mut self.0)
        };
    }

    fn contains(&self, fd: RawFd) -> bool {
        // SAFETY: as for `insert`.
        #[allow(unsafe_code)]
        unsafe {
            libc::FD_ISSET(fd, &self.0)
        }
    }

    fn as_mut_ptr(&mut self) -> *mut libc::fd_set {
        &mut self.0
    }
}
