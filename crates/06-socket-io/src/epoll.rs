//! A selector on epoll: edges, kept as levels.
//!
//! Mirrors `EpollSelector` in CPython's `selectors.py`, which is what
//! asyncio's `DefaultSelector` is on Linux, and stage 3's selectors: the
//! same [`Selector`] trait, so stage 3's loop, and every task of stages 4
//! and 5 on it, run on this one unchanged. The system calls are mio's
//! (`epoll_create1`, `epoll_ctl`, `epoll_wait`).
//!
//! One thing differs, and it is this stage's lesson. CPython registers
//! descriptors level-triggered: `epoll_wait` reports a descriptor at every
//! call while it stays readable. mio registers them edge-triggered: it
//! reports a descriptor once, when it *becomes* readable, and not again
//! until new data arrives. A loop that ran its reader once and waited
//! again would then wait for ever on data it has not read. So this
//! selector keeps what epoll reported for each descriptor, reports it at
//! every `select` as a level-triggered selector would, and waits only
//! once nothing is kept; it forgets a readiness only when an operation on
//! the descriptor answers "would block" ([`Selector::forget_readiness`],
//! which the loop's `would_block` calls), since only then is it sure that
//! the kernel will report the next data as a new edge.
//!
//! Other threads wake it the way mio offers, not through asyncio's
//! self-pipe: a `mio::Waker`, an eventfd in the same epoll instance, which
//! the loop takes from the selector ([`Selector::own_wake_up`]).

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::os::fd::RawFd;
use std::time::Duration;

use mio::unix::SourceFd;
use mio::{Events, Poll, Token};
use stage03_read_readiness::selector::{Deadline, Interest, Keys, SelectorKey};
use stage03_read_readiness::{Selector, SelectorError, WakeUp};

/// How many events one `epoll_wait` hands back at most; more wait for the
/// next call, which comes at once since they are kept as ready.
const EVENTS_PER_WAIT: usize = 1024;

/// The descriptor number under which a wake-up from another thread is
/// reported: no real descriptor is ever this high.
const WAKE_UP: RawFd = RawFd::MAX;

// ANCHOR: epoll_selector
/// Python's `selectors.EpollSelector`, on mio: registered descriptors are
/// told to the kernel once; `select` reports what became ready, and what
/// was ready before and has not since been found to block.
pub struct EpollSelector<D = ()> {
    keys: Keys<D>,
    poll: Poll,
    /// Reused from call to call.
    events: Events,
    /// What epoll reported for each descriptor and no operation has found
    /// exhausted since: the level, kept from the edges.
    kept: BTreeMap<RawFd, Interest>,
    /// Descriptors whose peer has closed its end, or that failed: readable
    /// for good (a `recv` answers the end, or the error), whatever an
    /// operation says of its reads.
    ended: BTreeSet<RawFd>,
    /// Whether another thread can wake this selector (mio's `Waker`, an
    /// eventfd in the same epoll instance), once the loop has asked.
    wakes: bool,
}
// ANCHOR_END: epoll_selector

impl<D> EpollSelector<D> {
    /// A selector with nothing registered, and its epoll instance.
    ///
    /// # Errors
    /// If the kernel refuses a new epoll instance (too many open files).
    pub fn new() -> io::Result<Self> {
        Ok(Self {
            keys: Keys::new(),
            poll: Poll::new()?,
            events: Events::with_capacity(EVENTS_PER_WAIT),
            kept: BTreeMap::new(),
            ended: BTreeSet::new(),
            wakes: false,
        })
    }

    /// What is kept as ready, for the tests and the curious.
    pub fn kept(&self) -> Vec<(RawFd, Interest)> {
        self.kept.iter().map(|(&fd, &what)| (fd, what)).collect()
    }
}

/// mio's name for what a descriptor is watched for (never empty: the
/// selector refuses an empty interest first).
fn to_mio(events: Interest) -> mio::Interest {
    match (events.read, events.write) {
        (true, true) => mio::Interest::READABLE | mio::Interest::WRITABLE,
        (false, true) => mio::Interest::WRITABLE,
        _ => mio::Interest::READABLE,
    }
}

/// The token of a descriptor: the descriptor itself, which is unique among
/// those registered.
fn token(fd: RawFd) -> Token {
    Token(usize::try_from(fd).expect("a registered descriptor is not negative"))
}

impl<D> Selector for EpollSelector<D> {
    type Data = D;

    fn keys(&self) -> &Keys<D> {
        &self.keys
    }

    fn keys_mut(&mut self) -> &mut Keys<D> {
        &mut self.keys
    }

    // ANCHOR: register
    fn register(&mut self, fd: RawFd, events: Interest, data: D) -> Result<(), SelectorError> {
        if self.keys.contains_key(&fd) {
            return Err(SelectorError::AlreadyRegistered(fd));
        }
        self.refuse_what_cannot_work(fd, events)?;
        let registry = self.poll.registry();
        registry
            .register(&mut SourceFd(&fd), token(fd), to_mio(events))
            .map_err(SelectorError::Io)?;
        self.keys.insert(fd, SelectorKey { events, data });
        Ok(())
    }

    fn modify(&mut self, fd: RawFd, events: Interest) -> Result<(), SelectorError> {
        if !self.keys.contains_key(&fd) {
            return Err(SelectorError::NotRegistered(fd));
        }
        self.refuse_what_cannot_work(fd, events)?;
        // `epoll_ctl(MOD)` re-arms the descriptor: what is ready now is
        // reported again, as a new edge.
        let registry = self.poll.registry();
        registry
            .reregister(&mut SourceFd(&fd), token(fd), to_mio(events))
            .map_err(SelectorError::Io)?;
        self.keys.get_mut(&fd).expect("registered").events = events;
        Ok(())
    }

    fn unregister(&mut self, fd: RawFd) -> Result<D, SelectorError> {
        let key = self
            .keys
            .remove(&fd)
            .ok_or(SelectorError::NotRegistered(fd))?;
        // A descriptor closed since is gone from epoll already (the kernel
        // drops it with its last reference): nothing left to undo.
        let _gone = self.poll.registry().deregister(&mut SourceFd(&fd));
        // Whatever was kept belongs to this registration; a descriptor of
        // the same number registered later starts afresh, and epoll
        // reports what is ready then as its first edge.
        self.kept.remove(&fd);
        self.ended.remove(&fd);
        Ok(key.data)
    }
    // ANCHOR_END: register

    // ANCHOR: own_wake_up
    /// mio's `Waker`, instead of asyncio's self-pipe: an eventfd registered
    /// in the same epoll instance, which another thread writes to. Each
    /// write is a new edge; nothing needs reading.
    fn own_wake_up(&mut self) -> Result<Option<(RawFd, WakeUp)>, SelectorError> {
        let waker =
            mio::Waker::new(self.poll.registry(), token(WAKE_UP)).map_err(SelectorError::Io)?;
        self.wakes = true;
        // Writing to the eventfd fails only if its count is full, and then
        // it is readable already: the loop wakes all the same.
        Ok(Some((WAKE_UP, Box::new(move || drop(waker.wake())))))
    }
    // ANCHOR_END: own_wake_up

    // ANCHOR: select
    fn forget_readiness(&mut self, fd: RawFd, what: Interest) {
        // A read that came back short says there was no more data, not
        // that the end, which came with it, has been read.
        let forget_read = what.read && !self.ended.contains(&fd);
        if let Some(kept) = self.kept.get_mut(&fd) {
            kept.read &= !forget_read;
            kept.write &= !what.write;
            if kept.is_empty() {
                self.kept.remove(&fd);
            }
        }
    }

    fn select(
        &mut self,
        timeout: Option<Duration>,
        ready: &mut Vec<(RawFd, Interest)>,
    ) -> Result<(), SelectorError> {
        ready.clear();
        // Something already known to be ready: look for news, but do not
        // wait for it.
        let wait = if self.kept_ready().next().is_some() {
            Some(Duration::ZERO)
        } else {
            timeout
        };
        let deadline = Deadline::after(wait);
        let mut wait_for = wait;
        while let Err(error) = self.poll.poll(&mut self.events, wait_for) {
            if error.kind() != io::ErrorKind::Interrupted {
                return Err(SelectorError::Io(error));
            }
            wait_for = deadline.remaining(); // EINTR: wait for what is left
        }
        let mut woken = false;
        for event in &self.events {
            let Ok(fd) = RawFd::try_from(event.token().0) else {
                continue;
            };
            if fd == WAKE_UP && self.wakes {
                woken = true; // an edge per wake-up: reported, not kept
                continue;
            }
            // As CPython does: hang-up and error wake both readers and
            // writers, so that whoever waits finds out by trying.
            let trouble = event.is_error() || event.is_read_closed() && event.is_write_closed();
            let found = Interest {
                read: event.is_readable() || event.is_read_closed() || trouble,
                write: event.is_writable() || event.is_write_closed() || trouble,
            };
            if event.is_read_closed() || trouble {
                self.ended.insert(fd);
            }
            let kept = self.kept.entry(fd).or_default();
            kept.read |= found.read;
            kept.write |= found.write;
        }
        ready.extend(self.kept_ready());
        if woken {
            ready.push((WAKE_UP, Interest::READ));
        }
        Ok(())
    }
    // ANCHOR_END: select
}

impl<D> EpollSelector<D> {
    /// What is kept as ready and still watched for, in descriptor order.
    fn kept_ready(&self) -> impl Iterator<Item = (RawFd, Interest)> + '_ {
        self.kept.iter().filter_map(|(fd, &kept)| {
            let found = kept.and(self.keys.get(fd)?.events);
            (!found.is_empty()).then_some((*fd, found))
        })
    }
}
