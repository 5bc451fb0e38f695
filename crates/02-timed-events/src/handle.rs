//! A scheduled callback that can be cancelled.
//!
//! Mirrors `Handle` and `TimerHandle` in CPython's `asyncio/events.py`.
//! `call_soon` returns a handle; `call_later` and `call_at` return one that
//! also knows when it is due. Cancelling a handle drops its callback at once
//! (asyncio sets `_callback = None`), so whatever the callback captured is
//! freed even while the timer waits in the schedule for the loop to skip it.
//!
//! The callback itself lives in the loop's table ([`crate::callbacks`]); a
//! handle names its slot, so making one allocates nothing.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::rc::Rc;

use crate::callbacks::{CallbackId, Callbacks, Origin};
use crate::event_loop::EventLoop;
use crate::seconds::to_seconds;

/// What the loop calls. It is handed the loop, so that it can schedule more.
pub type Callback = Box<dyn FnOnce(&EventLoop)>;

/// A handle to one scheduled callback.
pub struct Handle {
    callbacks: Rc<RefCell<Callbacks>>,
    id: CallbackId,
    origin: Origin,
    cancelled: Cell<bool>,
}

impl Handle {
    pub(crate) fn new(callbacks: Rc<RefCell<Callbacks>>, id: CallbackId, origin: Origin) -> Self {
        Self {
            callbacks,
            id,
            origin,
            cancelled: Cell::new(false),
        }
    }

    // ANCHOR: cancel
    /// asyncio's `Handle.cancel()`: the callback will not run. Cancelling
    /// twice, or after the callback ran, does nothing.
    pub fn cancel(&self) {
        if self.cancelled.replace(true) {
            return;
        }
        let callback = self.callbacks.borrow_mut().cancel(self.id);
        drop(callback); // after the borrow: its captures may do anything
    }
    // ANCHOR_END: cancel

    /// Whether [`cancel`](Self::cancel) was called.
    pub fn cancelled(&self) -> bool {
        self.cancelled.get()
    }

    /// asyncio's `TimerHandle.when()`: when a timer is due, in loop seconds;
    /// `None` for a `call_soon` handle.
    pub fn when(&self) -> Option<f64> {
        self.origin.when.map(to_seconds)
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
        f.write_str(&describe(self.origin, self.cancelled()))
    }
}

/// How reports name a callback: see the `Display` of [`Handle`].
pub(crate) fn describe(origin: Origin, cancelled: bool) -> String {
    let what = match origin.when {
        Some(when) => format!("TimerHandle when={}", to_seconds(when)),
        None => "Handle".to_string(),
    };
    let cancelled = if cancelled { " cancelled" } else { "" };
    format!("<{what}{cancelled} scheduled at {}>", origin.scheduled_at)
}
