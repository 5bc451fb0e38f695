//! The callback event loop: a queue of callbacks ready to run, a heap of
//! timers, and one iteration that waits, collects what is due, and runs it.
//!
//! Mirrors `BaseEventLoop` in CPython's `asyncio/base_events.py`: `call_soon`,
//! `call_later`, `call_at`, `time`, `run_forever`, `stop`, `close` and, above
//! all, `_run_once`. Everything else in asyncio (futures, tasks, sockets) is
//! callbacks scheduled on this loop.

use std::any::Any;
use std::cell::{Cell, RefCell, RefMut};
use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, Location, catch_unwind};
use std::rc::Rc;
use std::time::Duration;

use demo_support::{Mark, Timeline};
use stage01_generator_loop::Clock;
use stage01_generator_loop::guessing_loop::panic_message;

use crate::abstract_loop::AbstractEventLoop;
use crate::error::{CallbackPanic, LoopError};
use crate::handle::{Callback, Handle};
use crate::poller::{Poller, Sleeper};
use crate::running::RunState;
use crate::schedule::{Heap, Key, Schedule};
use crate::seconds::{Nanos, from_duration, wait_until};

/// asyncio's `_MIN_SCHEDULED_TIMER_HANDLES`: below this many timers, never
/// bother compacting the heap.
pub const MIN_SCHEDULED_TIMERS: usize = 100;

type ExceptionHandler<P> = Rc<dyn Fn(&EventLoop<P>, &CallbackPanic)>;

// ANCHOR: event_loop
/// The loop, waiting with a `P` (stage 2: a [`Sleeper`]; stage 3: a
/// selector). Clones are the same loop, as every Python reference to a loop
/// is. The one [`new`](Self::new) returns owns it: dropping that one closes
/// the loop, which frees every callback still pending, however many clones
/// those callbacks hold.
pub struct EventLoop<P: Poller = Sleeper> {
    inner: Rc<Inner<P>>,
    owner: bool,
}

struct Inner<P: Poller> {
    clock: Box<dyn Clock>,
    /// asyncio's `_ready`: handles to run in the next iteration, in order.
    ready: RefCell<VecDeque<Handle<P>>>,
    /// asyncio's `_scheduled`: timers in a binary heap by `(when, seq)`.
    scheduled: RefCell<Heap<Handle<P>>>,
    /// asyncio's `_timer_cancelled_count`: cancelled timers still in it.
    cancelled_timers: Rc<Cell<usize>>,
    poller: RefCell<P>,
    /// Whether it runs, is stopping or closed; its iterations.
    state: RunState,
    exception_handler: RefCell<Option<ExceptionHandler<P>>>,
    /// What later stages keep with the loop (see `attachment`).
    attachments: RefCell<Vec<Rc<dyn Any>>>,
}
// ANCHOR_END: event_loop

impl EventLoop<Sleeper> {
    /// A loop on `clock` that can wait for time and nothing else.
    pub fn new(clock: impl Clock + 'static) -> Self {
        Self::with_poller(clock, Sleeper)
    }
}

impl<P: Poller> EventLoop<P> {
    /// A loop that waits with `poller` (stage 3 passes a selector).
    pub fn with_poller(clock: impl Clock + 'static, poller: P) -> Self {
        let inner = Inner {
            clock: Box::new(clock),
            ready: RefCell::default(),
            scheduled: RefCell::default(),
            cancelled_timers: Rc::default(),
            poller: RefCell::new(poller),
            state: RunState::default(),
            exception_handler: RefCell::new(None),
            attachments: RefCell::default(),
        };
        Self {
            inner: Rc::new(inner),
            owner: true,
        }
    }

    // ANCHOR: attachment
    /// The `T` attached to this loop, made with `T::default()` the first
    /// time it is asked for: what a later stage keeps with a loop, owned by
    /// the loop and dropped when it closes (stage 4 keeps its tasks here).
    /// asyncio keeps such things on the loop too, its default executor for
    /// one, and `close()` shuts them down. `Err(Closed)` once closed.
    pub fn attachment<T: Default + 'static>(&self) -> Result<Rc<T>, LoopError> {
        self.inner.state.check_closed()?;
        let mut attachments = self.inner.attachments.borrow_mut();
        let found = attachments
            .iter()
            .find_map(|a| Rc::clone(a).downcast::<T>().ok());
        Ok(found.unwrap_or_else(|| {
            let made = Rc::new(T::default());
            attachments.push(Rc::clone(&made) as Rc<dyn Any>);
            made
        }))
    }
    // ANCHOR_END: attachment

    /// Whether `self` and `other` are one loop (clones of each other), as
    /// Python's `is`.
    pub fn is_same(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.inner, &other.inner)
    }

    // ANCHOR: add_callback
    /// asyncio's `_add_callback(handle)`: queue a handle that exists
    /// already, as a selector queues a reader's handle each time its
    /// descriptor is ready. Stage 4's fast tasks queue their loop's one
    /// drain handle this way for every wake, instead of making a handle
    /// per wake. A cancelled handle is not queued.
    pub fn add_callback(&self, handle: &Handle<P>) -> Result<(), LoopError> {
        self.inner.state.check_closed()?;
        if !handle.cancelled() {
            self.inner.ready.borrow_mut().push_back(handle.clone());
        }
        Ok(())
    }
    // ANCHOR_END: add_callback

    /// Whether `handle` is the last callback in the ready queue (Python:
    /// `loop._ready[-1] is handle`): nothing was queued after it.
    pub fn is_last_ready(&self, handle: &Handle<P>) -> bool {
        let ready = self.inner.ready.borrow();
        ready.back().is_some_and(|last| last.is_same(handle))
    }

    /// The poller, for its own API (stage 3's `add_reader` is built on it).
    /// Never held across a call into the loop.
    pub fn poller(&self) -> RefMut<'_, P> {
        self.inner.poller.borrow_mut()
    }

    // ANCHOR: call_exception_handler
    /// asyncio's `call_exception_handler`: report a callback that panicked.
    /// A handler that panics itself is reported too ("Unhandled error in
    /// exception handler"), and the loop carries on.
    pub fn call_exception_handler(&self, report: &CallbackPanic) {
        let handler = self.inner.exception_handler.borrow().clone();
        let Some(handler) = handler else {
            return default_exception_handler(report);
        };
        let outcome = catch_unwind(AssertUnwindSafe(|| handler(self, report)));
        if let Err(payload) = outcome {
            default_exception_handler(&CallbackPanic {
                message: format!(
                    "{}; then, in the exception handler: Unhandled error in exception handler: {}",
                    report.message,
                    panic_message(payload.as_ref())
                ),
                ..report.clone()
            });
        }
    }
    // ANCHOR_END: call_exception_handler

    /// Record what the loop does on `timeline` from now on.
    pub fn set_timeline(&self, timeline: Timeline) {
        *self.inner.state.timeline.borrow_mut() = Some(timeline);
    }

    // ANCHOR: run_once
    /// asyncio's `_run_once`: one full iteration of the loop.
    fn run_once_unchecked(&self) -> Result<(), LoopError> {
        let inner = &*self.inner;
        inner.state.iterations.set(inner.state.iterations.get() + 1);

        // 1. Drop cancelled timers: rebuild the heap without them if they
        //    are more than half of it, else pop those at its front.
        let mut scheduled = inner.scheduled.borrow_mut();
        let cancelled = &inner.cancelled_timers;
        if scheduled.len() > MIN_SCHEDULED_TIMERS && cancelled.get() * 2 > scheduled.len() {
            scheduled.retain(&mut |handle| {
                let keep = !handle.cancelled();
                handle.set_scheduled(keep);
                keep
            });
            cancelled.set(0);
        } else {
            while scheduled
                .peek()
                .is_some_and(|(_, handle)| handle.cancelled())
            {
                cancelled.set(cancelled.get() - 1);
                let (_, handle) = scheduled.pop().expect("peeked");
                handle.set_scheduled(false);
            }
        }

        // 2. How long to wait: not at all if callbacks are ready or the
        //    loop is stopping; else until the earliest timer; else for as
        //    long as it takes.
        let mut ready = inner.ready.borrow_mut();
        let timeout = if !ready.is_empty() || inner.state.stopping.get() {
            Some(Duration::ZERO)
        } else {
            let earliest = scheduled.peek().map(|(key, _)| key.when);
            earliest.and_then(|when| wait_until(self.now(), when))
        };
        drop(scheduled);

        // 3. Wait (stage 3: in `select`), and queue what became ready.
        let before = self.now();
        inner
            .poller
            .borrow_mut()
            .poll(&*inner.clock, timeout, &mut ready)?;
        self.record_wait(before);

        // 4. Timers that are due join the back of the ready queue.
        let now = self.now();
        let mut scheduled = inner.scheduled.borrow_mut();
        while scheduled.peek().is_some_and(|(key, _)| key.when <= now) {
            let (_, handle) = scheduled.pop().expect("peeked");
            handle.set_scheduled(false);
            ready.push_back(handle);
        }
        drop((scheduled, ready));

        // 5. Run what is ready now, and only that: callbacks that these
        //    schedule wait for the next iteration.
        let ntodo = inner.ready.borrow().len();
        for _ in 0..ntodo {
            let Some(handle) = inner.ready.borrow_mut().pop_front() else {
                break; // the loop was closed by a callback
            };
            if handle.cancelled() {
                continue;
            }
            if inner.state.debug.get() {
                let started = self.now();
                handle.run(self);
                self.report_if_slow(&handle, self.now() - started);
            } else {
                handle.run(self);
            }
        }
        Ok(())
    }
    // ANCHOR_END: run_once

    // ANCHOR: shut_down
    /// What `close` does, and what dropping the owner does: cancel every
    /// pending callback, timer, reader and writer, which drops them and all
    /// they captured, and close the poller's descriptors. Closing twice does
    /// nothing.
    fn shut_down(&self) {
        let inner = &*self.inner;
        if inner.state.closed.replace(true) {
            return;
        }
        // Gather everything first, then cancel it, outside every borrow:
        // dropping a callback may run any code, even a call into this loop.
        let mut pending: Vec<Handle<P>> = inner.ready.take().into();
        inner.scheduled.borrow_mut().retain(&mut |handle| {
            handle.set_scheduled(false);
            pending.push(handle.clone());
            false
        });
        inner.cancelled_timers.set(0);
        let watched = inner.poller.borrow_mut().close();
        for handle in pending.iter().chain(&watched) {
            handle.cancel();
        }
        // The attachments first: what they drop may report to the exception
        // handler (stage 4: a task destroyed while pending).
        drop(inner.attachments.take());
        drop(inner.exception_handler.take());
    }
    // ANCHOR_END: shut_down

    /// Mark on the timeline how long the loop waited, if it did.
    fn record_wait(&self, from: Nanos) {
        if self.now() > from {
            self.record(|| Mark::Slept { from });
        }
    }
}

// ANCHOR: reserve_timer
/// A timer's place in line, taken before the timer is set: see
/// [`EventLoop::reserve_timer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReservedTimer(Key);

/// Timers set late, as if set early. asyncio has no such thing: stage 5's
/// fast timeout scope uses it to set its timer only once its block waits,
/// and still run it in the order asyncio's, set on entry, would run.
impl<P: Poller> EventLoop<P> {
    /// Take the place in line of a timer due at `when` (in loop
    /// nanoseconds), as `call_at` would now, without setting it.
    pub fn reserve_timer(&self, when: Nanos) -> ReservedTimer {
        ReservedTimer(self.inner.scheduled.borrow_mut().reserve(when))
    }

    /// `call_at` in the place `reserved` took: the timer runs where one set
    /// then would have run, among those due at the same moment.
    ///
    /// # Errors
    /// As `call_at`: the loop is closed.
    #[track_caller]
    pub fn call_at_reserved(
        &self,
        reserved: ReservedTimer,
        callback: impl FnOnce(&Self) + 'static,
    ) -> Result<Handle<P>, LoopError> {
        self.inner.state.check_closed()?;
        let ReservedTimer(key) = reserved;
        let callback = Callback::Once(Box::new(callback));
        let cancelled_timers = Rc::clone(&self.inner.cancelled_timers);
        let handle = Handle::timer(key.when, callback, cancelled_timers, Location::caller());
        self.inner
            .scheduled
            .borrow_mut()
            .push_at(key, handle.clone());
        handle.set_scheduled(true);
        Ok(handle)
    }
}
// ANCHOR_END: reserve_timer

// ANCHOR: base_event_loop
/// asyncio's `BaseEventLoop(events.AbstractEventLoop)`: what every loop
/// offers, built on the ready queue and the heap.
impl<P: Poller> AbstractEventLoop for EventLoop<P> {
    type Handle = Handle<P>;

    fn now(&self) -> Nanos {
        from_duration(self.inner.clock.now())
    }

    // ANCHOR: call_soon
    #[track_caller]
    fn call_soon(&self, callback: impl FnOnce(&Self) + 'static) -> Result<Handle<P>, LoopError> {
        self.inner.state.check_closed()?;
        let handle = Handle::new(Callback::Once(Box::new(callback)), Location::caller());
        self.inner.ready.borrow_mut().push_back(handle.clone());
        Ok(handle)
    }

    #[track_caller]
    fn call_at_nanos(
        &self,
        when: Nanos,
        callback: impl FnOnce(&Self) + 'static,
    ) -> Result<Handle<P>, LoopError> {
        self.inner.state.check_closed()?;
        let callback = Callback::Once(Box::new(callback));
        let cancelled_timers = Rc::clone(&self.inner.cancelled_timers);
        let handle = Handle::timer(when, callback, cancelled_timers, Location::caller());
        self.inner.scheduled.borrow_mut().push(when, handle.clone());
        handle.set_scheduled(true);
        Ok(handle)
    }
    // ANCHOR_END: call_soon

    fn scheduled_count(&self) -> usize {
        self.inner.scheduled.borrow().len()
    }

    fn set_exception_handler(&self, handler: impl Fn(&Self, &CallbackPanic) + 'static) {
        *self.inner.exception_handler.borrow_mut() = Some(Rc::new(handler));
    }

    fn run_state(&self) -> &RunState {
        &self.inner.state
    }

    fn run_forever(&self) -> Result<(), LoopError> {
        self.inner
            .state
            .run_forever(self, || self.run_once_unchecked())
    }

    fn run_once(&self) -> Result<(), LoopError> {
        self.inner
            .state
            .run_once(self, || self.run_once_unchecked())
    }

    // ANCHOR: close
    fn close(&self) -> Result<(), LoopError> {
        if self.is_running() {
            return Err(LoopError::CloseWhileRunning);
        }
        self.shut_down();
        Ok(())
    }
    // ANCHOR_END: close
}
// ANCHOR_END: base_event_loop

// ANCHOR: owner
impl<P: Poller> Clone for EventLoop<P> {
    /// Another reference to the same loop; it does not own the loop.
    fn clone(&self) -> Self {
        Self {
            inner: Rc::clone(&self.inner),
            owner: false,
        }
    }
}

impl<P: Poller> Drop for EventLoop<P> {
    /// The owner closes the loop, as asyncio's `__del__` closes an unclosed
    /// one: otherwise a pending callback holding a clone would keep the loop,
    /// and itself, alive for ever.
    fn drop(&mut self) {
        if self.owner {
            self.shut_down();
        }
    }
}
// ANCHOR_END: owner

impl<P: Poller> std::fmt::Debug for EventLoop<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventLoop")
            .field("time", &self.time())
            .field("ready", &self.inner.ready.borrow().len())
            .field("scheduled", &self.scheduled_count())
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// asyncio's `default_exception_handler`, which logs; here, standard error.
fn default_exception_handler(report: &CallbackPanic) {
    eprintln!("{report}");
}
