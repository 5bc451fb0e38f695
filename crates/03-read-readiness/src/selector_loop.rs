//! The callback loop of stage 2, now waiting in `select` or `poll`.
//!
//! Mirrors `BaseSelectorEventLoop` in CPython's `asyncio/selector_events.py`:
//! `add_reader`, `remove_reader`, `add_writer`, `remove_writer`, and
//! `_process_events`, which turns each ready descriptor into a call of its
//! reader or writer. The loop itself is stage 2's `EventLoop`, unchanged:
//! this module only gives it a [`Poller`] that waits for descriptors as well
//! as for time, with the next timer's deadline as the timeout.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::ops::Deref;
use std::os::fd::RawFd;
use std::panic::Location;
use std::rc::Rc;
use std::time::Duration;

use stage01_generator_loop::Clock;
use stage02_timed_events::event_loop::LoopError;
use stage02_timed_events::{EventLoop, Poller, Ready};

use crate::selector::{Interest, Selector, SelectorError, Wait};
use crate::wakeup::{Remote, Wakeup};

/// A reader or writer: called every iteration while its descriptor is ready.
struct Watcher {
    callback: Box<dyn Fn(&EventLoop)>,
    registered_at: &'static Location<'static>,
    /// Cleared by `remove_reader` (or a replacing `add_reader`): a call
    /// already queued for this iteration must then not run, as asyncio's
    /// `_remove_reader` cancels the reader's handle.
    active: Cell<bool>,
}

/// What the selector keeps with each descriptor: its reader and its writer,
/// as asyncio keeps `(reader, writer)` in the key's `data`. The loop's own
/// wake-up socket has neither.
#[derive(Default)]
struct Watchers {
    reader: Option<Rc<Watcher>>,
    writer: Option<Rc<Watcher>>,
}

impl Watchers {
    /// The reader for `Interest::READ`, the writer for `Interest::WRITE`.
    fn slot(&mut self, what: Interest) -> &mut Option<Rc<Watcher>> {
        if what.read {
            &mut self.reader
        } else {
            &mut self.writer
        }
    }

    /// What the selector must watch the descriptor for.
    fn interest(&self) -> Interest {
        Interest {
            read: self.reader.is_some(),
            write: self.writer.is_some(),
        }
    }
}

/// What the loop watches, shared between the loop's API and its poller.
struct Watched {
    selector: Selector<Box<dyn Wait>, Watchers>,
    /// Readers and writers registered (the wake-up socket is not counted).
    watching: usize,
    wakeup: Wakeup,
    /// Reused from iteration to iteration.
    events: Vec<(RawFd, Interest)>,
}

impl Wait for Box<dyn Wait> {
    fn check(&self, fd: RawFd) -> Result<(), SelectorError> {
        (**self).check(fd)
    }

    fn wait(
        &mut self,
        registered: &BTreeMap<RawFd, Interest>,
        timeout: Option<Duration>,
        ready: &mut Vec<(RawFd, Interest)>,
    ) -> Result<(), SelectorError> {
        (**self).wait(registered, timeout, ready)
    }
}

/// Stage 2's loop with a selector: clones are the same loop. It dereferences
/// to the [`EventLoop`], so `call_soon`, `call_later` and `run_forever` work
/// as before.
#[derive(Clone)]
pub struct SelectorLoop {
    event_loop: EventLoop,
    watched: Rc<RefCell<Watched>>,
}

impl Deref for SelectorLoop {
    type Target = EventLoop;

    fn deref(&self) -> &EventLoop {
        &self.event_loop
    }
}

impl SelectorLoop {
    /// A loop on `clock` that waits with the system call `wait`
    /// ([`Select`](crate::select::Select) or [`Poll`](crate::poll::Poll)).
    ///
    /// # Errors
    /// If the wake-up socket cannot be made or watched.
    pub fn new(
        clock: impl Clock + 'static,
        wait: impl Wait + 'static,
    ) -> Result<Self, SelectorError> {
        let wakeup = Wakeup::new().map_err(SelectorError::Io)?;
        let mut selector = Selector::new(Box::new(wait) as Box<dyn Wait>);
        selector.register(wakeup.fd(), Interest::READ, Watchers::default())?;
        let watched = Rc::new(RefCell::new(Watched {
            selector,
            watching: 0,
            wakeup,
            events: Vec::new(),
        }));
        let poller = SelectorPoller {
            watched: Rc::clone(&watched),
        };
        let event_loop = EventLoop::with_poller(clock, poller);
        Ok(Self {
            event_loop,
            watched,
        })
    }

    // ANCHOR: add_reader
    /// asyncio's `add_reader`: call `callback` in every iteration in which
    /// `fd` is readable, until `remove_reader`. A second `add_reader` for
    /// the same descriptor replaces the first, as in asyncio.
    #[track_caller]
    pub fn add_reader(
        &self,
        fd: RawFd,
        callback: impl Fn(&EventLoop) + 'static,
    ) -> Result<(), SelectorError> {
        self.watch(
            fd,
            Interest::READ,
            Watcher::new(callback, Location::caller()),
        )
    }

    /// asyncio's `add_writer`: the same, for writability.
    #[track_caller]
    pub fn add_writer(
        &self,
        fd: RawFd,
        callback: impl Fn(&EventLoop) + 'static,
    ) -> Result<(), SelectorError> {
        self.watch(
            fd,
            Interest::WRITE,
            Watcher::new(callback, Location::caller()),
        )
    }

    /// asyncio's `remove_reader`: `true` if there was a reader to remove.
    pub fn remove_reader(&self, fd: RawFd) -> bool {
        self.unwatch(fd, Interest::READ)
    }

    /// asyncio's `remove_writer`: `true` if there was a writer to remove.
    pub fn remove_writer(&self, fd: RawFd) -> bool {
        self.unwatch(fd, Interest::WRITE)
    }
    // ANCHOR_END: add_reader

    /// A handle through which other threads can `call_soon_threadsafe`.
    pub fn remote(&self) -> Remote {
        self.watched.borrow().wakeup.remote()
    }

    /// The descriptors watched for readers and writers, with what for, in
    /// descriptor order (the loop's own wake-up socket is not listed).
    pub fn watched(&self) -> Vec<(RawFd, Interest)> {
        let watched = self.watched.borrow();
        let wakeup = watched.wakeup.fd();
        watched
            .selector
            .fds()
            .filter(|&fd| fd != wakeup)
            .filter_map(|fd| Some((fd, watched.selector.interest(fd)?)))
            .collect()
    }

    /// Whether a reader is registered for `fd`.
    pub fn has_reader(&self, fd: RawFd) -> bool {
        let watched = self.watched.borrow();
        watched
            .selector
            .data(fd)
            .is_some_and(|w| w.reader.is_some())
    }

    /// Whether a writer is registered for `fd`.
    pub fn has_writer(&self, fd: RawFd) -> bool {
        let watched = self.watched.borrow();
        watched
            .selector
            .data(fd)
            .is_some_and(|w| w.writer.is_some())
    }

    fn watch(&self, fd: RawFd, what: Interest, watcher: Watcher) -> Result<(), SelectorError> {
        let mut watched = self.watched.borrow_mut();
        if fd == watched.wakeup.fd() {
            return Err(SelectorError::AlreadyRegistered(fd));
        }
        let watcher = Rc::new(watcher);
        let replaced = match watched.selector.data(fd).map(Watchers::interest) {
            None => {
                let mut watchers = Watchers::default();
                *watchers.slot(what) = Some(watcher);
                watched.selector.register(fd, what, watchers)?;
                None
            }
            Some(interest) => {
                // Ask the selector first: if it refuses, nothing has changed.
                let both = Interest {
                    read: interest.read || what.read,
                    write: interest.write || what.write,
                };
                watched.selector.modify(fd, both)?;
                let watchers = watched.selector.data_mut(fd).expect("registered");
                watchers.slot(what).replace(watcher)
            }
        };
        match replaced {
            // As asyncio's `_add_reader` cancels the handle it replaces.
            Some(replaced) => replaced.active.set(false),
            None => watched.watching += 1,
        }
        Ok(())
    }

    fn unwatch(&self, fd: RawFd, what: Interest) -> bool {
        let mut watched = self.watched.borrow_mut();
        if fd == watched.wakeup.fd() {
            return false;
        }
        let Some(watchers) = watched.selector.data_mut(fd) else {
            return false;
        };
        let Some(removed) = watchers.slot(what).take() else {
            return false;
        };
        removed.active.set(false);
        let rest = watchers.interest();
        watched.watching -= 1;
        // Unregistering works even if the descriptor was closed already.
        if rest.is_empty() {
            watched.selector.unregister(fd).is_ok()
        } else {
            watched.selector.modify(fd, rest).is_ok()
        }
    }
}

impl Watcher {
    fn new(
        callback: impl Fn(&EventLoop) + 'static,
        registered_at: &'static Location<'static>,
    ) -> Self {
        Self {
            callback: Box::new(callback),
            registered_at,
            active: Cell::new(true),
        }
    }
}

impl std::fmt::Debug for SelectorLoop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SelectorLoop")
            .field("time", &self.time())
            .field("watched", &self.watched())
            .finish()
    }
}

/// The loop reports a selector's refusal as a failed poll; the
/// [`SelectorError`] itself can be had back with `downcast_ref`.
impl From<SelectorError> for LoopError {
    fn from(error: SelectorError) -> Self {
        match error {
            SelectorError::Io(error) => LoopError::Io(error),
            other => LoopError::Io(std::io::Error::other(other)),
        }
    }
}

/// Stage 2's [`Poller`], for a loop that watches descriptors.
struct SelectorPoller {
    watched: Rc<RefCell<Watched>>,
}

// ANCHOR: poll
impl Poller for SelectorPoller {
    fn poll(
        &mut self,
        clock: &dyn Clock,
        timeout: Option<Duration>,
        ready: &mut Vec<Ready>,
    ) -> Result<(), LoopError> {
        let mut watched = self.watched.borrow_mut();
        let watched = &mut *watched;
        // Waiting for ever is only sensible if something could end the wait:
        // a watched descriptor, or another thread holding a `Remote`.
        let idle = watched.watching == 0;
        let hopeless = timeout.is_none() && idle && !watched.wakeup.has_remotes();
        // On a virtual clock, look without waiting for the timeout: the
        // loop moves the clock itself if nothing is ready. And when waiting
        // would be hopeless, look once anyway: a thread that has gone may
        // have left callbacks behind.
        let wait = if hopeless || (clock.is_virtual() && timeout.is_some()) {
            Some(Duration::ZERO)
        } else {
            timeout
        };
        watched.selector.select(wait, &mut watched.events)?;
        if watched.events.is_empty() {
            if hopeless {
                return Err(LoopError::NothingToWaitFor);
            }
            if clock.is_virtual() {
                clock.sleep(timeout.unwrap_or_default());
            }
        }
        for &(fd, found) in &watched.events {
            if fd == watched.wakeup.fd() {
                watched.wakeup.drain(ready);
                continue;
            }
            let Some(watchers) = watched.selector.data(fd) else {
                continue;
            };
            for (watcher, wanted) in [
                (&watchers.reader, found.read),
                (&watchers.writer, found.write),
            ] {
                if let Some(watcher) = watcher.as_ref().filter(|_| wanted) {
                    let watcher = Rc::clone(watcher);
                    let registered_at = watcher.registered_at;
                    let callback = move |event_loop: &EventLoop| {
                        if watcher.active.get() {
                            (watcher.callback)(event_loop);
                        }
                    };
                    ready.push(Ready {
                        callback: Box::new(callback),
                        registered_at,
                    });
                }
            }
        }
        Ok(())
    }
}
// ANCHOR_END: poll
