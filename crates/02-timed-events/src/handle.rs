//! A scheduled callback that can be cancelled.
//!
//! Mirrors `Handle` and `TimerHandle` in CPython's `asyncio/events.py`.
//! `call_soon` returns a handle; `call_later` and `call_at` return one that
//! also knows when it is due. Cancelling a handle drops its callback at once
//! (asyncio sets `_callback = None`), so whatever the callback captured is
//! freed even if the timer stays in the schedule until the loop skips it.

use std::cell::Cell;
use std::fmt;
use std::panic::Location;
use std::rc::Rc;

use crate::event_loop::EventLoop;
use crate::seconds::{Nanos, to_seconds};

/// What the loop calls. It is handed the loop, so that it can schedule more.
pub type Callback = Box<dyn FnOnce(&EventLoop)>;

/// A handle to one scheduled callback. Clones refer to the same callback.
#[derive(Clone)]
pub struct Handle {
    state: Rc<State>,
}

struct State {
    callback: Cell<Option<Callback>>,
    cancelled: Cell<bool>,
    /// Where `call_soon`/`call_later` was called: how reports name it.
    scheduled_at: &'static Location<'static>,
    timer: Option<Timer>,
}

struct Timer {
    when: Nanos,
    /// Still in the loop's schedule (not yet run, not yet skipped).
    in_schedule: Cell<bool>,
    /// The loop's count of cancelled timers still in its schedule.
    cancelled_in_schedule: Rc<Cell<usize>>,
}

impl Handle {
    pub(crate) fn soon(callback: Callback, scheduled_at: &'static Location<'static>) -> Self {
        Self::new(callback, scheduled_at, None)
    }

    pub(crate) fn timer(
        callback: Callback,
        scheduled_at: &'static Location<'static>,
        when: Nanos,
        cancelled_in_schedule: Rc<Cell<usize>>,
    ) -> Self {
        let timer = Timer {
            when,
            in_schedule: Cell::new(true),
            cancelled_in_schedule,
        };
        Self::new(callback, scheduled_at, Some(timer))
    }

    fn new(
        callback: Callback,
        scheduled_at: &'static Location<'static>,
        timer: Option<Timer>,
    ) -> Self {
        let state = State {
            callback: Cell::new(Some(callback)),
            cancelled: Cell::new(false),
            scheduled_at,
            timer,
        };
        Self {
            state: Rc::new(state),
        }
    }

    // ANCHOR: cancel
    /// asyncio's `Handle.cancel()`: the callback will not run. Cancelling
    /// twice, or after the callback ran, does nothing.
    pub fn cancel(&self) {
        if self.state.cancelled.replace(true) {
            return;
        }
        drop(self.state.callback.take());
        if let Some(timer) = &self.state.timer
            && timer.in_schedule.get()
        {
            let count = &timer.cancelled_in_schedule;
            count.set(count.get() + 1);
        }
    }
    // ANCHOR_END: cancel

    /// Whether [`cancel`](Self::cancel) was called.
    pub fn cancelled(&self) -> bool {
        self.state.cancelled.get()
    }

    /// asyncio's `TimerHandle.when()`: when a timer is due, in loop seconds;
    /// `None` for a `call_soon` handle.
    pub fn when(&self) -> Option<f64> {
        self.when_nanos().map(to_seconds)
    }

    pub(crate) fn when_nanos(&self) -> Option<Nanos> {
        self.state.timer.as_ref().map(|timer| timer.when)
    }

    /// The loop took this timer out of its schedule (to run it, or to drop it
    /// because it was cancelled).
    pub(crate) fn leave_schedule(&self) {
        if let Some(timer) = &self.state.timer
            && timer.in_schedule.replace(false)
            && self.cancelled()
        {
            let count = &timer.cancelled_in_schedule;
            count.set(count.get() - 1);
        }
    }

    /// Run the callback, unless it was cancelled or already ran.
    pub(crate) fn run(&self, event_loop: &EventLoop) {
        if let Some(callback) = self.state.callback.take() {
            callback(event_loop);
        }
    }
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Like asyncio's handle `repr`: what it is, when it is due, where it came
/// from. `<TimerHandle when=1.5 scheduled at src/main.rs:12:5>`.
impl fmt::Display for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.when() {
            Some(when) => write!(f, "<TimerHandle when={when}")?,
            None => write!(f, "<Handle")?,
        }
        if self.cancelled() {
            write!(f, " cancelled")?;
        }
        write!(f, " scheduled at {}>", self.state.scheduled_at)
    }
}
