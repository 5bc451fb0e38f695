//! Shielding work from the cancellation of whoever awaits it.
//!
//! Mirrors `shield` in CPython's `asyncio/tasks.py`: the awaiter awaits an
//! *outer* future that the inner task's end finishes. Cancelling the
//! awaiter cancels what it waits on, which is the outer future, so the
//! awaiter sees the cancellation at once while the inner task runs on.
//! The inner task's own cancellation, though, is its end, and so the
//! outer future's: that reaches the awaiter.

use stage02_timed_events::{LoopError, get_running_loop};
use stage03_read_readiness::SelectorEventLoop;
use stage04_futures_tasks::{Future, FutureError};

use crate::tasks::EnsureFuture;

// ANCHOR: shield
/// asyncio's `shield(aw)`: a future that `aw`'s task ends as it ends, and
/// that can be cancelled without cancelling the task.
///
/// # Errors
/// Outside a running loop, or if the loop refuses the task.
#[track_caller]
pub fn shield<T: Clone + 'static>(aw: impl EnsureFuture<T>) -> Result<Future<T>, LoopError> {
    let event_loop = get_running_loop::<SelectorEventLoop>()?;
    let inner = aw.ensure_future(&event_loop)?;
    let outer = Future::new(&event_loop);
    if inner.done() {
        let _first = outer.set_outcome(inner.result());
        return Ok(outer);
    }
    let finished = outer.clone();
    let inner_done = inner.add_done_callback(move |_, inner| {
        if finished.cancelled() {
            return; // the awaiter went; nobody wants the value
        }
        let _first = finished.set_outcome(match inner.result() {
            Err(FutureError::Cancelled) => Err(FutureError::Cancelled),
            outcome => outcome,
        });
    });
    outer.add_done_callback(move |_, _| {
        if !inner.done() {
            inner.remove_done_callback(inner_done);
        }
    });
    Ok(outer)
}
// ANCHOR_END: shield
