//! The callback loop of stage 2, now waiting in `select` or `poll`.
//!
//! Mirrors `BaseSelectorEventLoop` in CPython's `asyncio/selector_events.py`:
//! `add_reader`, `remove_reader`, `add_writer`, `remove_writer`, and
//! `_process_events`, which turns each ready descriptor into a run of its
//! reader or writer. The loop itself is stage 2's `EventLoop`, unchanged: this
//! module only gives it a [`Poller`] that waits for descriptors as well as for
//! time, with the next timer's deadline as the timeout, and the methods to
//! watch descriptors with ([`SelectorEvents`]).

use std::collections::VecDeque;
use std::io;
use std::os::fd::RawFd;
use std::panic::Location;
use std::rc::Rc;
use std::time::Duration;

use stage01_generator_loop::Clock;
use stage02_timed_events::{AbstractEventLoop, Callback, EventLoop, Handle, LoopError, Poller};

use crate::busy_poll::{BusyPoll, spin_before_waiting};
use crate::selector::{Interest, Selector, SelectorError};
use crate::self_pipe::{Remote, SelfPipe, Sent};

/// Stage 2's loop, waiting in a selector: asyncio's `SelectorEventLoop`.
pub type SelectorEventLoop = EventLoop<SelectorPoller>;

// ANCHOR: reader_writer
/// What the selector keeps with each descriptor: its reader and its writer,
/// as asyncio keeps `(reader, writer)` in the key's data. Each is the handle
/// the loop runs while the descriptor is ready. The self-pipe has neither.
#[derive(Default)]
pub struct ReaderWriter {
    reader: Option<Handle<SelectorPoller>>,
    writer: Option<Handle<SelectorPoller>>,
}

impl ReaderWriter {
    /// The reader for `Interest::READ`, the writer for `Interest::WRITE`.
    fn slot(&mut self, what: Interest) -> &mut Option<Handle<SelectorPoller>> {
        if what.read {
            &mut self.reader
        } else {
            &mut self.writer
        }
    }

    /// What the selector must watch the descriptor for.
    fn events(&self) -> Interest {
        Interest {
            read: self.reader.is_some(),
            write: self.writer.is_some(),
        }
    }
}

/// Stage 2's [`Poller`] for a loop that watches descriptors: a selector,
/// and the self-pipe through which other threads wake the loop.
pub struct SelectorPoller {
    selector: Box<dyn Selector<Data = ReaderWriter>>,
    /// `None` once the loop is closed.
    self_pipe: Option<SelfPipe<SelectorEventLoop>>,
    /// What the selector found ready; reused from iteration to iteration.
    events: Vec<(RawFd, Interest)>,
    /// How often to look when the loop cannot wait (see `busy_poll`).
    busy_poll: BusyPoll,
    /// How many times to look before a wait without limit (see
    /// `busy_poll::spin_before_waiting`); 0, asyncio's way, unless set.
    idle_looks: u32,
}
// ANCHOR_END: reader_writer

impl SelectorPoller {
    /// A poller that waits in `selector`
    /// ([`SelectSelector`](crate::select::SelectSelector) or
    /// [`PollSelector`](crate::poll::PollSelector)).
    ///
    /// # Errors
    /// If the self-pipe cannot be made or watched.
    pub fn new(
        selector: impl Selector<Data = ReaderWriter> + 'static,
    ) -> Result<Self, SelectorError> {
        let mut selector = Box::new(selector);
        let self_pipe = match selector.own_wake_up()? {
            Some((fd, wake)) => SelfPipe::woken_by(fd, wake),
            None => {
                let self_pipe = SelfPipe::new().map_err(SelectorError::Io)?;
                selector.register(self_pipe.fd(), Interest::READ, ReaderWriter::default())?;
                self_pipe
            }
        };
        Ok(Self {
            selector,
            self_pipe: Some(self_pipe),
            events: Vec::new(),
            busy_poll: BusyPoll::default(),
            idle_looks: 0,
        })
    }

    /// Before waiting without limit (on the real clock), look `looks` times
    /// without waiting: see [`spin_before_waiting`]. 0 (asyncio's way)
    /// unless set. Above 0, the self-pipe is quiet too: written to only
    /// while the loop may sleep (see `self_pipe`).
    pub fn set_idle_spin(&mut self, looks: u32) {
        self.idle_looks = looks;
        if let Some(self_pipe) = &mut self.self_pipe {
            self_pipe.set_quiet(looks > 0);
        }
    }

    /// Look in the selector only once in `every` iterations that cannot
    /// wait: see [`BusyPoll`]. 1 (asyncio's way) unless set.
    pub fn set_busy_poll(&mut self, every: u32) {
        self.busy_poll = BusyPoll::every(every);
    }

    /// Set `handle` as `fd`'s reader or writer (`what`), registering `fd`
    /// or adding to what it is watched for; hand back the one it replaces.
    fn watch(
        &mut self,
        fd: RawFd,
        what: Interest,
        handle: Handle<Self>,
    ) -> Result<Option<Handle<Self>>, SelectorError> {
        if Some(fd) == self.self_pipe.as_ref().map(SelfPipe::fd) {
            return Err(SelectorError::AlreadyRegistered(fd));
        }
        let Some(key) = self.selector.get_key(fd) else {
            let mut data = ReaderWriter::default();
            *data.slot(what) = Some(handle);
            self.selector.register(fd, what, data)?;
            return Ok(None);
        };
        // Ask the selector first: if it refuses, nothing has changed.
        let events = Interest {
            read: key.events.read || what.read,
            write: key.events.write || what.write,
        };
        self.selector.modify(fd, events)?;
        let key = self.selector.get_key_mut(fd).expect("registered");
        Ok(key.data.slot(what).replace(handle))
    }

    /// Take `fd`'s reader or writer (`what`) away, and stop watching `fd`
    /// for it; the handle taken, if there was one.
    fn unwatch(&mut self, fd: RawFd, what: Interest) -> Option<Handle<Self>> {
        if Some(fd) == self.self_pipe.as_ref().map(SelfPipe::fd) {
            return None;
        }
        let key = self.selector.get_key_mut(fd)?;
        let removed = key.data.slot(what).take()?;
        let rest = key.data.events();
        // Works even if the descriptor was closed already.
        let _ = if rest.is_empty() {
            self.selector.unregister(fd).map(drop)
        } else {
            self.selector.modify(fd, rest)
        };
        Some(removed)
    }

    /// Whether `fd` has a reader or writer (`what`) that was not cancelled.
    fn is_watched(&self, fd: RawFd, what: Interest) -> bool {
        let Some(key) = self.selector.get_key(fd) else {
            return false;
        };
        let handle = if what.read {
            &key.data.reader
        } else {
            &key.data.writer
        };
        handle.as_ref().is_some_and(|handle| !handle.cancelled())
    }
}

// ANCHOR: poll
impl Poller for SelectorPoller {
    fn poll(
        &mut self,
        clock: &dyn Clock,
        timeout: Option<Duration>,
        ready: &mut VecDeque<Handle<Self>>,
    ) -> Result<(), LoopError> {
        let Some(self_pipe) = &self.self_pipe else {
            return Err(LoopError::Closed);
        };
        if self.busy_poll.skip(timeout) {
            return Ok(()); // callbacks are ready: look in a later iteration
        }
        // Waiting for ever is only sensible if something could end the wait:
        // a watched descriptor, or another thread holding a `Remote`.
        let own = usize::from(self_pipe.is_watched()); // the self-pipe's key
        let idle = self.selector.keys().len() == own;
        let hopeless = timeout.is_none() && idle && !self_pipe.has_remotes();
        // On a virtual clock, look without waiting for the timeout: the
        // loop moves the clock itself if nothing is ready. And when waiting
        // would be hopeless, look once anyway: a thread that has gone may
        // have left callbacks behind.
        let wait = if hopeless || (clock.is_virtual() && timeout.is_some()) {
            Some(Duration::ZERO)
        } else {
            timeout
        };
        let looks = if wait.is_none() { self.idle_looks } else { 0 };
        let (selector, events) = (&mut self.selector, &mut self.events);
        let found = spin_before_waiting(looks, || {
            // A quiet pipe's callbacks are seen without a system call.
            if self_pipe.is_quiet() && self_pipe.has_sent() {
                return Ok(true);
            }
            selector.select(Some(Duration::ZERO), events)?;
            Ok(!events.is_empty())
        })
        .map_err(into_loop_error)?;
        if !found && !self_pipe.sent_before_sleep() {
            selector.select(wait, events).map_err(into_loop_error)?;
        }
        self_pipe.awake();
        // A quiet self-pipe's callbacks came without a byte: they count.
        let sent_quietly = self_pipe.is_quiet() && self_pipe.has_sent();
        if self.events.is_empty() && !sent_quietly {
            if hopeless {
                return Err(LoopError::NothingToWaitFor);
            }
            if clock.is_virtual() {
                clock.sleep(timeout.unwrap_or_default());
            }
        }
        // asyncio's `_process_events`.
        for index in 0..self.events.len() {
            let (fd, found) = self.events[index];
            if Some(fd) == self.self_pipe.as_ref().map(SelfPipe::fd) {
                let sent = self.self_pipe.as_ref().expect("open").drain();
                ready.extend(sent.into_iter().map(sent_handle));
                // Read until a short read: empty now (an edge-triggered
                // selector must hear it; the next byte is a new edge).
                self.selector.forget_readiness(fd, Interest::READ);
                continue;
            }
            let Some(key) = self.selector.get_key(fd) else {
                continue;
            };
            let (reader, writer) = (key.data.reader.clone(), key.data.writer.clone());
            for (handle, what) in [(reader, Interest::READ), (writer, Interest::WRITE)] {
                let Some(handle) = handle.filter(|_| found.and(what) == what) else {
                    continue;
                };
                if handle.cancelled() {
                    self.unwatch(fd, what); // as asyncio drops a cancelled reader
                } else {
                    ready.push_back(handle);
                }
            }
        }
        // A quiet self-pipe gets no byte while the loop is awake.
        if let Some(self_pipe) = self.self_pipe.as_ref().filter(|pipe| pipe.is_quiet()) {
            ready.extend(self_pipe.take_sent().into_iter().map(sent_handle));
        }
        Ok(())
    }

    /// Stop watching everything, close the self-pipe, and hand back every
    /// reader, writer and callback sent from another thread.
    fn close(&mut self) -> Vec<Handle<Self>> {
        let sent = self.self_pipe.take().map(|pipe| pipe.close());
        let mut handles: Vec<Handle<Self>> = sent.into_iter().flatten().map(sent_handle).collect();
        let fds: Vec<RawFd> = self.selector.keys().keys().copied().collect();
        for fd in fds {
            if let Ok(data) = self.selector.unregister(fd) {
                handles.extend(data.reader.into_iter().chain(data.writer));
            }
        }
        handles
    }
}
// ANCHOR_END: poll

/// A callback sent from another thread, as a handle the loop can run or drop.
fn sent_handle((callback, sent_at): Sent<SelectorEventLoop>) -> Handle<SelectorPoller> {
    Handle::new(Callback::Once(callback), sent_at)
}

/// The loop reports a selector's refusal as a failed poll; the
/// [`SelectorError`] itself can be had back with `downcast_ref`.
fn into_loop_error(error: SelectorError) -> LoopError {
    match error {
        SelectorError::Io(error) => LoopError::Poll(error),
        other => LoopError::Poll(io::Error::other(other)),
    }
}

// ANCHOR: add_reader
/// What a loop that waits in a selector can do beyond stage 2's: asyncio's
/// `add_reader` and its kin, and `call_soon_threadsafe`.
pub trait SelectorEvents: Sized {
    /// A loop on `clock` that waits in `selector`.
    ///
    /// # Errors
    /// If the self-pipe cannot be made or watched.
    fn with_selector(
        clock: impl Clock + 'static,
        selector: impl Selector<Data = ReaderWriter> + 'static,
    ) -> Result<Self, SelectorError>;

    /// asyncio's `add_reader`: run `callback` in every iteration in which
    /// `fd` is readable, until `remove_reader` (or until the handle returned
    /// is cancelled). A second `add_reader` for the same descriptor replaces
    /// the first, as in asyncio.
    #[track_caller]
    fn add_reader(
        &self,
        fd: RawFd,
        callback: impl Fn(&SelectorEventLoop) + 'static,
    ) -> Result<Handle<SelectorPoller>, SelectorError>;

    /// asyncio's `add_writer`: the same, for writability.
    #[track_caller]
    fn add_writer(
        &self,
        fd: RawFd,
        callback: impl Fn(&SelectorEventLoop) + 'static,
    ) -> Result<Handle<SelectorPoller>, SelectorError>;

    /// asyncio's `remove_reader`: `true` if there was a reader to remove.
    fn remove_reader(&self, fd: RawFd) -> bool;

    /// asyncio's `remove_writer`: `true` if there was a writer to remove.
    fn remove_writer(&self, fd: RawFd) -> bool;
    // ANCHOR_END: add_reader

    /// Whether `fd` has a reader (not cancelled).
    fn has_reader(&self, fd: RawFd) -> bool;

    /// Whether `fd` has a writer (not cancelled).
    fn has_writer(&self, fd: RawFd) -> bool;

    /// The descriptors watched for readers and writers, with what for, in
    /// descriptor order (the loop's own self-pipe is not listed).
    fn watched(&self) -> Vec<(RawFd, Interest)>;

    /// A handle through which other threads can `call_soon_threadsafe`.
    /// [`LoopError::Closed`] once the loop is closed.
    fn remote(&self) -> Result<Remote<SelectorEventLoop>, LoopError>;

    /// An operation on `fd` answered "would block" for `what`: tell the
    /// selector (see [`Selector::forget_readiness`]; only an
    /// edge-triggered one cares).
    fn would_block(&self, fd: RawFd, what: Interest);
}

impl SelectorEvents for SelectorEventLoop {
    fn with_selector(
        clock: impl Clock + 'static,
        selector: impl Selector<Data = ReaderWriter> + 'static,
    ) -> Result<Self, SelectorError> {
        Ok(EventLoop::with_poller(
            clock,
            SelectorPoller::new(selector)?,
        ))
    }

    #[track_caller]
    fn add_reader(
        &self,
        fd: RawFd,
        callback: impl Fn(&SelectorEventLoop) + 'static,
    ) -> Result<Handle<SelectorPoller>, SelectorError> {
        add(
            self,
            fd,
            Interest::READ,
            Rc::new(callback),
            Location::caller(),
        )
    }

    #[track_caller]
    fn add_writer(
        &self,
        fd: RawFd,
        callback: impl Fn(&SelectorEventLoop) + 'static,
    ) -> Result<Handle<SelectorPoller>, SelectorError> {
        add(
            self,
            fd,
            Interest::WRITE,
            Rc::new(callback),
            Location::caller(),
        )
    }

    fn remove_reader(&self, fd: RawFd) -> bool {
        remove(self, fd, Interest::READ)
    }

    fn remove_writer(&self, fd: RawFd) -> bool {
        remove(self, fd, Interest::WRITE)
    }

    fn has_reader(&self, fd: RawFd) -> bool {
        self.poller().is_watched(fd, Interest::READ)
    }

    fn has_writer(&self, fd: RawFd) -> bool {
        self.poller().is_watched(fd, Interest::WRITE)
    }

    fn watched(&self) -> Vec<(RawFd, Interest)> {
        let poller = self.poller();
        let self_pipe = poller.self_pipe.as_ref().map(SelfPipe::fd);
        let keys = poller.selector.keys().iter();
        let keys = keys.filter(|&(&fd, _)| Some(fd) != self_pipe);
        keys.map(|(&fd, key)| (fd, key.events)).collect()
    }

    fn remote(&self) -> Result<Remote<SelectorEventLoop>, LoopError> {
        let poller = self.poller();
        poller
            .self_pipe
            .as_ref()
            .map(SelfPipe::remote)
            .ok_or(LoopError::Closed)
    }

    fn would_block(&self, fd: RawFd, what: Interest) {
        self.poller().selector.forget_readiness(fd, what);
    }
}

// ANCHOR: add
/// asyncio's `_add_reader` and `_add_writer`: a handle for `callback`, kept
/// in the selector's data for `fd`; the one it replaces is cancelled.
fn add(
    event_loop: &SelectorEventLoop,
    fd: RawFd,
    what: Interest,
    callback: Rc<dyn Fn(&SelectorEventLoop)>,
    added_at: &'static Location<'static>,
) -> Result<Handle<SelectorPoller>, SelectorError> {
    if event_loop.is_closed() {
        return Err(SelectorError::Closed);
    }
    let handle = Handle::new(Callback::Repeat(callback), added_at);
    let replaced = event_loop.poller().watch(fd, what, handle.clone())?;
    if let Some(replaced) = replaced {
        replaced.cancel(); // outside the borrow: its captures may do anything
    }
    Ok(handle)
}

/// asyncio's `_remove_reader` and `_remove_writer`: cancel the handle, so
/// that a run already queued for this iteration does not happen either.
fn remove(event_loop: &SelectorEventLoop, fd: RawFd, what: Interest) -> bool {
    let removed = event_loop.poller().unwatch(fd, what);
    let Some(removed) = removed else {
        return false;
    };
    removed.cancel();
    true
}
// ANCHOR_END: add
