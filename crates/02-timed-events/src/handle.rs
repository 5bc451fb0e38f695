//! A scheduled callback that can be cancelled.
//!
//! Mirrors `Handle` and `TimerHandle` in CPython's `asyncio/events.py`.
//! `call_soon` makes a handle and appends it to the loop's ready queue;
//! `call_later` and `call_at` make one that also knows when it is due and
//! push it onto the loop's heap. The handle holds the callback until it
//! runs. Cancelling a handle drops its callback at once (asyncio sets
//! `_callback = None`), so whatever the callback captured is freed even while
//! the timer waits in the heap for the loop to skip it.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::panic::{AssertUnwindSafe, Location, catch_unwind};
use std::rc::Rc;

use stage01_generator_loop::guessing_loop::panic_message;

use crate::abstract_loop::TimerHandle;
use crate::error::CallbackPanic;
use crate::event_loop::EventLoop;
use crate::poller::Poller;
use crate::seconds::{Nanos, to_seconds};

// ANCHOR: handle
/// What a handle calls, handed the loop it runs on, so that it can schedule
/// more.
pub enum Callback<P: Poller> {
    /// `call_soon`, `call_later`, `call_at`: runs once.
    Once(Box<dyn FnOnce(&EventLoop<P>)>),
    /// A reader or a writer (stage 3): runs each time its descriptor is
    /// ready, until it is removed.
    Repeat(Rc<dyn Fn(&EventLoop<P>)>),
}

/// A handle to one scheduled callback. Clones are the same handle: the loop
/// keeps one, the caller may keep another to cancel it.
pub struct Handle<P: Poller>(Rc<State<P>>);

struct State<P: Poller> {
    /// `None` once it has run (if it runs once) or was cancelled.
    callback: RefCell<Option<Callback<P>>>,
    cancelled: Cell<bool>,
    /// A timer's `when`; `None` for `call_soon`, readers and writers.
    when: Option<Nanos>,
    /// `TimerHandle._scheduled`: the timer is still in the loop's heap.
    scheduled: Cell<bool>,
    /// The loop's count of cancelled timers in its heap, which a timer
    /// cancelled there adds to (asyncio's `_timer_handle_cancelled`).
    cancelled_timers: Option<Rc<Cell<usize>>>,
    /// Where it was made: asyncio's `_source_traceback`, one line of it.
    created_at: &'static Location<'static>,
}
// ANCHOR_END: handle

impl<P: Poller> Handle<P> {
    /// A handle for `callback`, made at `created_at`, to run when the loop
    /// (or whoever holds it) says so.
    pub fn new(callback: Callback<P>, created_at: &'static Location<'static>) -> Self {
        Self::with_state(callback, None, None, created_at)
    }

    /// A timer's handle, due at `when`, that reports its cancellation to
    /// `cancelled_timers` while it is scheduled.
    pub(crate) fn timer(
        when: Nanos,
        callback: Callback<P>,
        cancelled_timers: Rc<Cell<usize>>,
        created_at: &'static Location<'static>,
    ) -> Self {
        Self::with_state(callback, Some(when), Some(cancelled_timers), created_at)
    }

    fn with_state(
        callback: Callback<P>,
        when: Option<Nanos>,
        cancelled_timers: Option<Rc<Cell<usize>>>,
        created_at: &'static Location<'static>,
    ) -> Self {
        Self(Rc::new(State {
            callback: RefCell::new(Some(callback)),
            cancelled: Cell::new(false),
            when,
            scheduled: Cell::new(false),
            cancelled_timers,
            created_at,
        }))
    }

    // ANCHOR: cancel
    /// asyncio's `Handle.cancel()`: the callback will not run, and it is
    /// dropped now. Cancelling twice, or after the callback ran, does nothing.
    pub fn cancel(&self) {
        let state = &*self.0;
        if state.cancelled.replace(true) {
            return;
        }
        if let Some(count) = state
            .cancelled_timers
            .as_ref()
            .filter(|_| state.scheduled.get())
        {
            count.set(count.get() + 1);
        }
        let callback = state.callback.take();
        drop(callback); // after the borrow: its captures may do anything
    }
    // ANCHOR_END: cancel

    /// Whether `self` and `other` are one handle (clones of each other).
    pub fn is_same(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }

    /// Whether [`cancel`](Self::cancel) was called.
    pub fn cancelled(&self) -> bool {
        self.0.cancelled.get()
    }

    /// Whether a callback that runs once has been run (or is running): not
    /// cancelled, and its callback taken out. A timer whose callback only
    /// wakes someone tells them so by this.
    pub fn has_run(&self) -> bool {
        !self.cancelled() && self.0.callback.borrow().is_none()
    }

    /// asyncio's `TimerHandle.when()`: when a timer is due, in loop seconds
    /// (infinity for [`NEVER`](crate::seconds::NEVER)); `None` for a handle
    /// that is not a timer.
    pub fn when(&self) -> Option<f64> {
        self.0.when.map(to_seconds)
    }

    /// Record whether the timer is in its loop's heap.
    pub(crate) fn set_scheduled(&self, scheduled: bool) {
        self.0.scheduled.set(scheduled);
    }

    // ANCHOR: run
    /// asyncio's `Handle._run()`: call the callback, and report a panic to
    /// the loop's exception handler instead of letting it unwind the loop.
    pub fn run(&self, event_loop: &EventLoop<P>) {
        // Out of the cell before the call, which may cancel this handle.
        let callback = match &mut *self.0.callback.borrow_mut() {
            Some(Callback::Repeat(callback)) => Some(Callback::Repeat(Rc::clone(callback))),
            once => once.take(),
        };
        let outcome = catch_unwind(AssertUnwindSafe(|| match callback {
            Some(Callback::Once(callback)) => callback(event_loop),
            Some(Callback::Repeat(callback)) => callback(event_loop),
            None => {}
        }));
        if let Err(payload) = outcome {
            event_loop.call_exception_handler(&CallbackPanic::panicked(
                self.to_string(),
                panic_message(payload.as_ref()),
            ));
        }
    }
    // ANCHOR_END: run
}

impl<P: Poller> TimerHandle for Handle<P> {
    fn cancel(&self) {
        Handle::cancel(self);
    }

    fn cancelled(&self) -> bool {
        Handle::cancelled(self)
    }

    fn when(&self) -> Option<f64> {
        Handle::when(self)
    }
}

impl<P: Poller> Clone for Handle<P> {
    fn clone(&self) -> Self {
        Self(Rc::clone(&self.0))
    }
}

impl<P: Poller> fmt::Debug for Handle<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Like asyncio's handle `repr`: what it is, whether it was cancelled, when
/// it is due, where it was made: `<TimerHandle when=1.5 created at
/// src/main.rs:12:5>`.
impl<P: Poller> fmt::Display for Handle<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = &*self.0;
        let kind = if state.when.is_some() {
            "TimerHandle"
        } else {
            "Handle"
        };
        write!(f, "<{kind}")?;
        if state.cancelled.get() {
            write!(f, " cancelled")?;
        }
        if let Some(when) = self.when() {
            write!(f, " when={when}")?;
        }
        write!(f, " created at {}>", state.created_at)
    }
}
