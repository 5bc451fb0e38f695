//! Which loop is running in this thread.
//!
//! Mirrors `_get_running_loop`, `_set_running_loop` and `get_running_loop`
//! in CPython's `asyncio/events.py`: `run_forever` makes its loop the
//! running loop of the thread until it returns, so that code running on the
//! loop (a callback, a coroutine) can reach the loop's whole API without
//! being handed it.

use std::any::Any;
use std::cell::RefCell;

use crate::error::LoopError;

thread_local! {
    /// A clone of the loop running in this thread, if one is. Loops differ
    /// in the type of their poller, so it is kept as `Any`.
    static RUNNING: RefCell<Option<Box<dyn Any>>> = const { RefCell::new(None) };
}

// ANCHOR: get_running_loop
/// asyncio's `get_running_loop()`: the loop running in this thread, for a
/// coroutine or callback that wants to `call_soon`, `call_later` or (in
/// stage 3) `add_reader` on it. `L` names the kind of loop:
/// `get_running_loop::<EventLoop>()` for stage 2's.
pub fn get_running_loop<L: Clone + 'static>() -> Result<L, LoopError> {
    RUNNING.with_borrow(|running| {
        let running = running.as_ref().and_then(|l| l.downcast_ref::<L>());
        running.cloned().ok_or(LoopError::NoRunningLoop)
    })
}
// ANCHOR_END: get_running_loop

/// Whether any loop is running in this thread.
pub(crate) fn is_any_running() -> bool {
    RUNNING.with_borrow(Option::is_some)
}

/// asyncio's `_set_running_loop`: `Some(clone)` when a loop starts running,
/// `None` when it stops.
pub(crate) fn set_running_loop<L: 'static>(event_loop: Option<L>) {
    let running = event_loop.map(|l| Box::new(l) as Box<dyn Any>);
    // Dropped after the borrow ends: dropping a loop may run arbitrary code.
    let previous = RUNNING.with_borrow_mut(|slot| std::mem::replace(slot, running));
    drop(previous);
}
