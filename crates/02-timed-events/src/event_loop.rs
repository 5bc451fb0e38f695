//! The callback event loop: a queue of callbacks ready to run, a schedule of
//! timers, and one iteration that waits, collects what is due, and runs it.
//!
//! Mirrors `BaseEventLoop` in CPython's `asyncio/base_events.py`: `call_soon`,
//! `call_later`, `call_at`, `time`, `run_forever`, `stop` and, above all,
//! `_run_once`. Everything else in asyncio (futures, tasks, sockets) is
//! callbacks scheduled on this loop.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::panic::{AssertUnwindSafe, Location, catch_unwind};
use std::rc::Rc;
use std::time::Duration;

use stage01_generator_loop::Clock;
use stage01_generator_loop::guessing_loop::panic_message;

use crate::callbacks::{CallbackId, Callbacks, Origin};
use crate::handle::{Callback, Handle, describe};
use crate::poller::{Poller, Ready, Sleeper};
use crate::seconds::{Nanos, TimeError, from_duration, to_nanos, to_seconds, wait_until};
use crate::timer_queue::{RadixHeap, Schedule};
use demo_support::{Mark, Timeline};

/// asyncio's `_MIN_SCHEDULED_TIMER_HANDLES`: below this many timers, never
/// bother compacting the schedule.
pub const MIN_SCHEDULED_TIMERS: usize = 100;

/// How many of the next timers' callbacks each iteration fetches into the
/// cache ahead of time: chapter 2's benchmark at 10^6 timers ran fastest
/// with 4 (of 1, 2, 4, 8, 16 and 32).
const PREFETCH_AHEAD: usize = 4;

/// Why the loop could not go on.
#[derive(Debug)]
pub enum LoopError {
    /// Nothing is ready, nothing is scheduled, and nothing (in this stage)
    /// could ever schedule anything: waiting would never end.
    NothingToWaitFor,
    /// `run_forever` was called while the loop was already running.
    AlreadyRunning,
    /// The loop was stopped before the coroutine it ran to completion was done.
    StoppedBeforeComplete,
    /// A task's coroutine panicked.
    TaskPanicked {
        /// The task's name.
        task: String,
        /// The panic message, if it was a string.
        message: String,
    },
    /// A poller's system call failed (stage 3 and later).
    Io(std::io::Error),
}

impl fmt::Display for LoopError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoopError::NothingToWaitFor => write!(
                f,
                "nothing is ready or scheduled, and nothing could wake the loop: it would wait forever"
            ),
            LoopError::AlreadyRunning => write!(f, "this event loop is already running"),
            LoopError::StoppedBeforeComplete => {
                write!(f, "the event loop stopped before the coroutine completed")
            }
            LoopError::TaskPanicked { task, message } => {
                write!(f, "task {task} panicked: {message}")
            }
            LoopError::Io(error) => write!(f, "polling failed: {error}"),
        }
    }
}

impl std::error::Error for LoopError {}

/// A callback that panicked, as the loop reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct CallbackPanic {
    /// The handle's description: what it was and where it was scheduled.
    pub handle: String,
    /// The panic message, if it was a string.
    pub message: String,
}

type ExceptionHandler = Rc<dyn Fn(&EventLoop, &CallbackPanic)>;

/// The loop. Clones are the same loop, as every Python reference to a loop is.
#[derive(Clone)]
pub struct EventLoop {
    inner: Rc<Inner>,
}

struct Inner {
    clock: Box<dyn Clock>,
    /// Every callback not yet run or dropped; the queues below name them.
    callbacks: Rc<RefCell<Callbacks>>,
    /// asyncio's `_ready`: callbacks to run in the next iteration, in order.
    ready: RefCell<VecDeque<CallbackId>>,
    /// asyncio's `_scheduled`: timers by `(when, seq)`.
    scheduled: RefCell<RadixHeap<CallbackId>>,
    poller: RefCell<Box<dyn Poller>>,
    /// What the poller found ready; kept between iterations to reuse its memory.
    polled: RefCell<Vec<Ready>>,
    stopping: Cell<bool>,
    running: Cell<bool>,
    iterations: Cell<u64>,
    exception_handler: RefCell<ExceptionHandler>,
    timeline: RefCell<Option<Timeline>>,
}

impl EventLoop {
    /// A loop on `clock` that can wait for time and nothing else.
    pub fn new(clock: impl Clock + 'static) -> Self {
        Self::with_poller(clock, Sleeper)
    }

    /// A loop that waits with `poller` (stage 3 passes a selector).
    pub fn with_poller(clock: impl Clock + 'static, poller: impl Poller + 'static) -> Self {
        let inner = Inner {
            clock: Box::new(clock),
            callbacks: Rc::default(),
            ready: RefCell::new(VecDeque::new()),
            scheduled: RefCell::new(RadixHeap::default()),
            poller: RefCell::new(Box::new(poller)),
            polled: RefCell::new(Vec::new()),
            stopping: Cell::new(false),
            running: Cell::new(false),
            iterations: Cell::new(0),
            exception_handler: RefCell::new(Rc::new(default_exception_handler)),
            timeline: RefCell::new(None),
        };
        Self {
            inner: Rc::new(inner),
        }
    }

    /// asyncio's `loop.time()`: the loop's clock, in seconds.
    pub fn time(&self) -> f64 {
        to_seconds(self.now())
    }

    /// The loop's clock in whole nanoseconds: the time the loop computes with.
    pub fn now(&self) -> Nanos {
        from_duration(self.inner.clock.now())
    }

    // ANCHOR: call_soon
    /// asyncio's `call_soon`: run `callback` in the next iteration, after
    /// every callback already queued. Never runs it here and now.
    #[track_caller]
    pub fn call_soon(&self, callback: impl FnOnce(&EventLoop) + 'static) -> Handle {
        let origin = Origin {
            when: None,
            scheduled_at: Location::caller(),
        };
        let id = self
            .inner
            .callbacks
            .borrow_mut()
            .insert(Box::new(callback), origin, false);
        self.inner.ready.borrow_mut().push_back(id);
        Handle::new(Rc::clone(&self.inner.callbacks), id, origin)
    }

    /// asyncio's `call_later`: run `callback` `delay` seconds from now. A
    /// zero or negative delay means the next iteration; NaN and infinity are
    /// errors.
    #[track_caller]
    pub fn call_later(
        &self,
        delay: f64,
        callback: impl FnOnce(&EventLoop) + 'static,
    ) -> Result<Handle, TimeError> {
        let when = self
            .now()
            .checked_add(to_nanos(delay)?)
            .ok_or(TimeError::OutOfRange(delay))?;
        Ok(self.call_at_nanos(when, callback))
    }

    /// asyncio's `call_at`: run `callback` when the loop's clock reads `when`.
    #[track_caller]
    pub fn call_at(
        &self,
        when: f64,
        callback: impl FnOnce(&EventLoop) + 'static,
    ) -> Result<Handle, TimeError> {
        Ok(self.call_at_nanos(to_nanos(when)?, callback))
    }

    /// `call_at` for a time already in nanoseconds: cannot fail.
    #[track_caller]
    pub fn call_at_nanos(
        &self,
        when: Nanos,
        callback: impl FnOnce(&EventLoop) + 'static,
    ) -> Handle {
        let origin = Origin {
            when: Some(when),
            scheduled_at: Location::caller(),
        };
        let id = self
            .inner
            .callbacks
            .borrow_mut()
            .insert(Box::new(callback), origin, true);
        self.inner.scheduled.borrow_mut().push(when, id);
        Handle::new(Rc::clone(&self.inner.callbacks), id, origin)
    }
    // ANCHOR_END: call_soon

    /// asyncio's `loop.stop()`: finish the current iteration, then return
    /// from `run_forever`. Called before `run_forever`, it makes the next run
    /// do exactly one iteration.
    pub fn stop(&self) {
        self.inner.stopping.set(true);
    }

    /// Whether `run_forever` is running.
    pub fn is_running(&self) -> bool {
        self.inner.running.get()
    }

    /// How many iterations (`run_once` calls) the loop has made.
    pub fn iterations(&self) -> u64 {
        self.inner.iterations.get()
    }

    /// How many timers are in the schedule, cancelled ones included.
    pub fn scheduled_count(&self) -> usize {
        self.inner.scheduled.borrow().len()
    }

    /// asyncio's `set_exception_handler`: who hears about callbacks that
    /// panic. The default prints `Exception in callback <handle>: <message>`
    /// to standard error.
    pub fn set_exception_handler(&self, handler: impl Fn(&EventLoop, &CallbackPanic) + 'static) {
        *self.inner.exception_handler.borrow_mut() = Rc::new(handler);
    }

    /// Record what the loop does on `timeline` from now on.
    pub fn set_timeline(&self, timeline: Timeline) {
        *self.inner.timeline.borrow_mut() = Some(timeline);
    }

    /// Add a mark to the timeline, if one is being recorded.
    pub fn record(&self, mark: Mark) {
        if let Some(timeline) = &*self.inner.timeline.borrow() {
            timeline.record(self.now(), mark);
        }
    }

    // ANCHOR: run_forever
    /// asyncio's `run_forever`: iterate until `stop` is called.
    pub fn run_forever(&self) -> Result<(), LoopError> {
        if self.inner.running.replace(true) {
            return Err(LoopError::AlreadyRunning);
        }
        let outcome = loop {
            if let Err(error) = self.run_once() {
                break Err(error);
            }
            if self.inner.stopping.get() {
                break Ok(());
            }
        };
        self.inner.stopping.set(false);
        self.inner.running.set(false);
        outcome
    }
    // ANCHOR_END: run_forever

    // ANCHOR: run_once
    /// asyncio's `_run_once`: one full iteration of the loop.
    pub fn run_once(&self) -> Result<(), LoopError> {
        self.inner.iterations.set(self.inner.iterations.get() + 1);
        self.drop_cancelled_timers();

        // Wait: not at all if callbacks are ready (or we are stopping),
        // until the earliest timer if there is one, else for as long as it
        // takes (which the poller may refuse).
        let before = self.now();
        let timeout = if !self.inner.ready.borrow().is_empty() || self.inner.stopping.get() {
            Some(Duration::ZERO)
        } else {
            let mut scheduled = self.inner.scheduled.borrow_mut();
            scheduled
                .peek()
                .map(|(key, _)| wait_until(before, key.when))
        };
        let mut polled = self.inner.polled.borrow_mut();
        let mut poller = self.inner.poller.borrow_mut();
        poller.poll(&*self.inner.clock, timeout, &mut polled)?;
        for Ready {
            callback,
            registered_at,
        } in polled.drain(..)
        {
            let origin = Origin {
                when: None,
                scheduled_at: registered_at,
            };
            let id = self
                .inner
                .callbacks
                .borrow_mut()
                .insert(callback, origin, false);
            self.inner.ready.borrow_mut().push_back(id);
        }
        drop((polled, poller));
        let now = self.now();
        if now > before {
            self.record(Mark::Slept { from: before });
        }

        // Timers that are due join the ready queue, earliest first.
        {
            let mut scheduled = self.inner.scheduled.borrow_mut();
            let mut callbacks = self.inner.callbacks.borrow_mut();
            let mut ready = self.inner.ready.borrow_mut();
            let mut fired = false;
            while let Some((key, _)) = scheduled.peek()
                && key.when <= now
            {
                let (_, id) = scheduled.pop().expect("peeked");
                fired = true;
                if callbacks.leave_schedule(id) {
                    ready.push_back(id);
                }
            }
            // Timers fire in time order, but their slots lie in the order
            // they were scheduled: fetch the next few early (see `prefetch`),
            // once per change at the front of the schedule.
            if fired {
                for &next in scheduled.upcoming().take(PREFETCH_AHEAD) {
                    callbacks.prefetch(next);
                }
            }
        }

        // Run what is ready now, and only that: callbacks scheduled by these
        // callbacks wait for the next iteration.
        let ready_now = self.inner.ready.borrow().len();
        for _ in 0..ready_now {
            let id = self.inner.ready.borrow_mut().pop_front();
            let Some(id) = id else { break };
            let callback = self.inner.callbacks.borrow_mut().take(id);
            if let Some(callback) = callback {
                self.run_callback(id, callback);
                self.inner.callbacks.borrow_mut().release(id);
            }
        }
        Ok(())
    }
    // ANCHOR_END: run_once

    // ANCHOR: drop_cancelled
    /// asyncio's rule for cancelled timers: skip them lazily when they reach
    /// the front, but when there are more than 100 timers and more than half
    /// of them are cancelled, rebuild the schedule without them.
    fn drop_cancelled_timers(&self) {
        let mut scheduled = self.inner.scheduled.borrow_mut();
        let mut callbacks = self.inner.callbacks.borrow_mut();
        let cancelled = callbacks.cancelled_timers();
        if cancelled == 0 {
            return;
        }
        if scheduled.len() > MIN_SCHEDULED_TIMERS && cancelled * 2 > scheduled.len() {
            // `leave_schedule` frees a cancelled timer and answers `false`.
            scheduled.retain(|&id| !callbacks.is_cancelled(id) || callbacks.leave_schedule(id));
        } else {
            while let Some((_, &id)) = scheduled.peek()
                && callbacks.is_cancelled(id)
            {
                scheduled.pop();
                callbacks.leave_schedule(id);
            }
        }
    }
    // ANCHOR_END: drop_cancelled

    /// Run one callback; a panic is reported, and the loop carries on.
    fn run_callback(&self, id: CallbackId, callback: Callback) {
        let outcome = catch_unwind(AssertUnwindSafe(|| callback(self)));
        if let Err(payload) = outcome {
            let origin = self.inner.callbacks.borrow().origin(id);
            let report = CallbackPanic {
                handle: describe(origin, false),
                message: panic_message(payload.as_ref()),
            };
            let handler = Rc::clone(&self.inner.exception_handler.borrow());
            handler(self, &report);
        }
    }
}

fn default_exception_handler(_: &EventLoop, report: &CallbackPanic) {
    eprintln!(
        "Exception in callback {}: {}",
        report.handle, report.message
    );
}
