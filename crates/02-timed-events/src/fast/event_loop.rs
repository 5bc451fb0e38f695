//! The fast loop: the textbook loop's five steps, on a table of callback
//! slots and a radix heap.
//!
//! Mirrors `BaseEventLoop._run_once` in CPython's `asyncio/base_events.py`,
//! as the textbook [`EventLoop`](crate::EventLoop) does, step for step; what
//! differs is where the callbacks live ([`Slots`]: no allocation per
//! callback), how the timers are ordered ([`RadixHeap`]), and a prefetch of
//! the next timers' slots. It waits for time only, as stage 2's loop does.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::panic::{AssertUnwindSafe, Location, catch_unwind};
use std::rc::Rc;
use std::time::Duration;

use demo_support::{Mark, Timeline};
use stage01_generator_loop::Clock;
use stage01_generator_loop::guessing_loop::panic_message;

use super::radix_heap::RadixHeap;
use super::slots::{Origin, SlotId, Slots};
use crate::abstract_loop::{AbstractEventLoop, TimerHandle};
use crate::error::CallbackPanic;
use crate::error::LoopError;
use crate::event_loop::MIN_SCHEDULED_TIMERS;
use crate::poller::Sleeper;
use crate::running::RunState;
use crate::schedule::Schedule;
use crate::seconds::{Nanos, from_duration, to_seconds, wait_until};

/// How many of the next timers' slots each iteration that fired a timer
/// fetches into the cache: the benchmark at 10⁶ timers ran fastest with 4
/// (of 1, 2, 4, 8, 16 and 32).
pub const PREFETCH_AHEAD: usize = 4;

type Callback = Box<dyn FnOnce(&FastEventLoop)>;
type ExceptionHandler = Rc<dyn Fn(&FastEventLoop, &CallbackPanic)>;

/// The fast loop. Clones are the same loop; the one [`new`](Self::new)
/// returns owns it and closes it when dropped, as the textbook loop's does.
pub struct FastEventLoop {
    inner: Rc<Inner>,
    owner: bool,
}

struct Inner {
    clock: Box<dyn Clock>,
    /// Every callback not yet run or dropped; the queues below name them.
    slots: Rc<RefCell<Slots<Callback>>>,
    ready: RefCell<VecDeque<SlotId>>,
    scheduled: RefCell<RadixHeap<SlotId>>,
    /// Whether it runs, is stopping or closed; its iterations.
    state: RunState,
    exception_handler: RefCell<Option<ExceptionHandler>>,
}

/// A handle to a callback of the fast loop: its slot, and the generation
/// that tells it from the slot's later tenants. Making one allocates
/// nothing.
pub struct FastHandle {
    slots: Rc<RefCell<Slots<Callback>>>,
    id: SlotId,
    origin: Origin,
    cancelled: Cell<bool>,
}

impl FastEventLoop {
    /// A loop on `clock` that waits for time and nothing else.
    pub fn new(clock: impl Clock + 'static) -> Self {
        let inner = Inner {
            clock: Box::new(clock),
            slots: Rc::default(),
            ready: RefCell::default(),
            scheduled: RefCell::default(),
            state: RunState::default(),
            exception_handler: RefCell::new(None),
        };
        Self {
            inner: Rc::new(inner),
            owner: true,
        }
    }

    /// Record what the loop does on `timeline` from now on.
    pub fn set_timeline(&self, timeline: Timeline) {
        *self.inner.state.timeline.borrow_mut() = Some(timeline);
    }

    #[track_caller]
    fn schedule(&self, when: Option<Nanos>, callback: Callback) -> Result<FastHandle, LoopError> {
        self.inner.state.check_closed()?;
        let origin = Origin {
            when,
            scheduled_at: Location::caller(),
        };
        let id = self
            .inner
            .slots
            .borrow_mut()
            .insert(callback, origin, when.is_some());
        match when {
            Some(when) => {
                self.inner.scheduled.borrow_mut().push(when, id);
            }
            None => self.inner.ready.borrow_mut().push_back(id),
        }
        Ok(FastHandle {
            slots: Rc::clone(&self.inner.slots),
            id,
            origin,
            cancelled: Cell::new(false),
        })
    }

    // ANCHOR: fast_run_once
    /// `_run_once`, as the textbook loop's, on slots and a radix heap.
    fn run_once_unchecked(&self) -> Result<(), LoopError> {
        let inner = &*self.inner;
        inner.state.iterations.set(inner.state.iterations.get() + 1);

        // 1. Drop cancelled timers: compact, or pop those at the front.
        let mut scheduled = inner.scheduled.borrow_mut();
        let mut slots = inner.slots.borrow_mut();
        let cancelled = slots.cancelled_timers();
        if scheduled.len() > MIN_SCHEDULED_TIMERS && cancelled * 2 > scheduled.len() {
            // `leave_schedule` frees a cancelled timer and answers `false`.
            scheduled.retain(&mut |&id| !slots.is_cancelled(id) || slots.leave_schedule(id));
        } else if cancelled > 0 {
            while let Some((_, &id)) = scheduled.peek()
                && slots.is_cancelled(id)
            {
                scheduled.pop();
                slots.leave_schedule(id);
            }
        }
        drop(slots);

        // 2. How long to wait.
        let timeout = if !inner.ready.borrow().is_empty() || inner.state.stopping.get() {
            Some(Duration::ZERO)
        } else {
            let earliest = scheduled.peek().map(|(key, _)| key.when);
            earliest.and_then(|when| wait_until(self.now(), when))
        };
        drop(scheduled);

        // 3. Wait: for time, and nothing else.
        let before = self.now();
        Sleeper::wait(&*inner.clock, timeout)?;
        if self.now() > before {
            self.record(|| Mark::Slept { from: before });
        }

        // 4. Timers that are due join the back of the ready queue; then the
        //    slots of the next few start loading into the cache.
        let now = self.now();
        let mut scheduled = inner.scheduled.borrow_mut();
        let mut slots = inner.slots.borrow_mut();
        let mut ready = inner.ready.borrow_mut();
        let mut fired = false;
        while let Some((key, _)) = scheduled.peek()
            && key.when <= now
        {
            let (_, id) = scheduled.pop().expect("peeked");
            fired = true;
            if slots.leave_schedule(id) {
                ready.push_back(id);
            }
        }
        if fired {
            for &next in scheduled.upcoming().take(PREFETCH_AHEAD) {
                slots.prefetch(next);
            }
        }
        drop((scheduled, slots, ready));

        // 5. Run what is ready now, and only that.
        let ntodo = inner.ready.borrow().len();
        for _ in 0..ntodo {
            let Some(id) = inner.ready.borrow_mut().pop_front() else {
                break; // the loop was closed by a callback
            };
            let callback = inner.slots.borrow_mut().take(id);
            if let Some(callback) = callback {
                self.run_callback(id, callback);
                inner.slots.borrow_mut().release(id);
            }
        }
        Ok(())
    }
    // ANCHOR_END: fast_run_once

    /// `Handle._run`: run one callback; a panic is reported, and the loop
    /// carries on.
    fn run_callback(&self, id: SlotId, callback: Callback) {
        let outcome = catch_unwind(AssertUnwindSafe(|| callback(self)));
        if let Err(payload) = outcome {
            let origin = self.inner.slots.borrow().origin(id);
            let report =
                CallbackPanic::panicked(describe(origin, false), panic_message(payload.as_ref()));
            let handler = self.inner.exception_handler.borrow().clone();
            let outcome = catch_unwind(AssertUnwindSafe(|| match handler {
                Some(handler) => handler(self, &report),
                None => eprintln!("{report}"),
            }));
            if let Err(payload) = outcome {
                let message = panic_message(payload.as_ref());
                eprintln!("Unhandled error in exception handler: {message}");
            }
        }
    }

    fn shut_down(&self) {
        let inner = &*self.inner;
        if inner.state.closed.replace(true) {
            return;
        }
        inner.ready.borrow_mut().clear();
        inner.scheduled.borrow_mut().retain(&mut |_| false);
        // Dropped outside every borrow: a callback's captures may do anything.
        let callbacks = inner.slots.borrow_mut().take_all();
        drop(callbacks);
        drop(inner.exception_handler.take());
    }
}

impl AbstractEventLoop for FastEventLoop {
    type Handle = FastHandle;

    #[track_caller]
    fn call_soon(&self, callback: impl FnOnce(&Self) + 'static) -> Result<FastHandle, LoopError> {
        self.schedule(None, Box::new(callback))
    }

    #[track_caller]
    fn call_at_nanos(
        &self,
        when: Nanos,
        callback: impl FnOnce(&Self) + 'static,
    ) -> Result<FastHandle, LoopError> {
        self.schedule(Some(when), Box::new(callback))
    }

    fn now(&self) -> Nanos {
        from_duration(self.inner.clock.now())
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

    fn close(&self) -> Result<(), LoopError> {
        if self.is_running() {
            return Err(LoopError::CloseWhileRunning);
        }
        self.shut_down();
        Ok(())
    }

    fn scheduled_count(&self) -> usize {
        self.inner.scheduled.borrow().len()
    }

    fn set_exception_handler(&self, handler: impl Fn(&Self, &CallbackPanic) + 'static) {
        *self.inner.exception_handler.borrow_mut() = Some(Rc::new(handler));
    }

    fn run_state(&self) -> &RunState {
        &self.inner.state
    }
}

impl Clone for FastEventLoop {
    /// Another reference to the same loop; it does not own the loop.
    fn clone(&self) -> Self {
        Self {
            inner: Rc::clone(&self.inner),
            owner: false,
        }
    }
}

impl Drop for FastEventLoop {
    fn drop(&mut self) {
        if self.owner {
            self.shut_down();
        }
    }
}

impl TimerHandle for FastHandle {
    fn cancel(&self) {
        if self.cancelled.replace(true) {
            return;
        }
        let callback = self.slots.borrow_mut().cancel(self.id);
        drop(callback); // after the borrow: its captures may do anything
    }

    fn cancelled(&self) -> bool {
        self.cancelled.get() || self.slots.borrow_mut().was_cancelled(self.id)
    }

    fn when(&self) -> Option<f64> {
        self.origin.when.map(to_seconds)
    }
}

impl fmt::Display for FastHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&describe(self.origin, self.cancelled()))
    }
}

/// As the textbook handle describes itself: `<TimerHandle when=1.5 created
/// at src/main.rs:12:5>`.
fn describe(origin: Origin, cancelled: bool) -> String {
    let kind = if origin.when.is_some() {
        "TimerHandle"
    } else {
        "Handle"
    };
    let cancelled = if cancelled { " cancelled" } else { "" };
    let when = origin
        .when
        .map(|when| format!(" when={}", to_seconds(when)))
        .unwrap_or_default();
    format!(
        "<{kind}{cancelled}{when} created at {}>",
        origin.scheduled_at
    )
}
