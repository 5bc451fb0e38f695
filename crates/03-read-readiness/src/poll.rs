//! `poll(2)`: hand the kernel an array of `(descriptor, events)`, get back
//! the events that happened.
//!
//! Mirrors `PollSelector` in CPython's `selectors.py`. No `FD_SETSIZE` limit,
//! and the array holds only the descriptors watched; but, like `select`, the
//! kernel still looks at every entry on every call, so the cost still grows
//! with the number watched. (Stage 6 moves to `epoll`, which does not.)

use std::io;
use std::os::fd::RawFd;
use std::time::Duration;

use crate::selector::{Deadline, Interest, Keys, Selector, SelectorError};

/// Python's `selectors.PollSelector`: a selector that waits in `poll(2)`.
#[derive(Debug)]
pub struct PollSelector<D = ()> {
    keys: Keys<D>,
    /// Reused from call to call, so polling allocates nothing.
    fds: Vec<libc::pollfd>,
}

impl<D> PollSelector<D> {
    /// A selector with nothing registered.
    pub fn new() -> Self {
        Self {
            keys: Keys::new(),
            fds: Vec::new(),
        }
    }
}

impl<D> Default for PollSelector<D> {
    fn default() -> Self {
        Self::new()
    }
}

impl<D> Selector for PollSelector<D> {
    type Data = D;

    fn keys(&self) -> &Keys<D> {
        &self.keys
    }

    fn keys_mut(&mut self) -> &mut Keys<D> {
        &mut self.keys
    }

    // ANCHOR: poll
    fn select(
        &mut self,
        timeout: Option<Duration>,
        ready: &mut Vec<(RawFd, Interest)>,
    ) -> Result<(), SelectorError> {
        ready.clear();
        self.fds.clear();
        for (&fd, key) in &self.keys {
            let mut events = 0;
            if key.events.read {
                events |= libc::POLLIN;
            }
            if key.events.write {
                events |= libc::POLLOUT;
            }
            self.fds.push(libc::pollfd {
                fd,
                events,
                revents: 0,
            });
        }
        let deadline = Deadline::after(timeout);
        let mut wait_for = timeout;
        loop {
            let millis = wait_for.map_or(-1, round_up_to_millis);
            // SAFETY: the pointer and length describe `self.fds`, a live,
            // initialised array that nothing else touches during the call.
            #[allow(unsafe_code)]
            let result = unsafe {
                libc::poll(
                    self.fds.as_mut_ptr(),
                    self.fds.len() as libc::nfds_t,
                    millis,
                )
            };
            if result >= 0 {
                break;
            }
            let error = io::Error::last_os_error();
            if error.kind() != io::ErrorKind::Interrupted {
                return Err(SelectorError::Io(error));
            }
            wait_for = deadline.remaining();
        }
        for (entry, (&fd, key)) in self.fds.iter().zip(&self.keys) {
            if entry.revents & libc::POLLNVAL != 0 {
                return Err(SelectorError::BadDescriptor(fd));
            }
            // As CPython does: hang-up and error wake both readers and
            // writers, so that whoever waits finds out by trying.
            let found = Interest {
                read: entry.revents & !libc::POLLOUT != 0,
                write: entry.revents & !libc::POLLIN != 0,
            };
            let found = found.and(key.events);
            if !found.is_empty() {
                ready.push((fd, found));
            }
        }
        Ok(())
    }
    // ANCHOR_END: poll
}

/// `poll` counts in whole milliseconds. Round up, as CPython does, so that a
/// wait for 0.3 ms waits at least that long instead of returning at once and
/// making the loop spin until the timer is due.
fn round_up_to_millis(timeout: Duration) -> libc::c_int {
    let millis = timeout.as_nanos().div_ceil(1_000_000);
    libc::c_int::try_from(millis).unwrap_or(libc::c_int::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_round_up_to_whole_milliseconds() {
        assert_eq!(round_up_to_millis(Duration::ZERO), 0);
        assert_eq!(round_up_to_millis(Duration::from_micros(300)), 1);
        assert_eq!(round_up_to_millis(Duration::from_millis(2)), 2);
        assert_eq!(
            round_up_to_millis(Duration::from_secs(u64::MAX)),
            libc::c_int::MAX
        );
    }
}
