//! Running a coroutine to completion on a loop.
//!
//! Mirrors `BaseEventLoop.run_until_complete` in CPython's
//! `asyncio/base_events.py`: make a task of the coroutine, stop the loop
//! when the task is done, run the loop, and hand back the task's outcome.

use std::fmt;

use stage02_timed_events::{AbstractEventLoop, LoopError};
use stage03_read_readiness::SelectorEventLoop;

use crate::futures::FutureError;
use crate::tasks::{create_task, take_result};

/// Why `run_until_complete` has no value to give.
#[derive(Debug)]
pub enum RunError {
    /// The loop refused to run, or failed.
    Loop(LoopError),
    /// The coroutine's task ended without a value: it panicked (the
    /// exception says so), or was cancelled; or the loop was stopped before
    /// it was done (`InvalidState`).
    Task(FutureError),
}

// ANCHOR: run_until_complete
/// asyncio's `loop.run_until_complete(coro)`: run the loop until
/// `coroutine`, made a task, is done, and evaluate to its value. Other
/// tasks run meanwhile, and those not done by then stay pending.
pub fn run_until_complete<F>(
    event_loop: &SelectorEventLoop,
    coroutine: F,
) -> Result<F::Output, RunError>
where
    F: std::future::Future + 'static,
{
    let task = create_task(event_loop, coroutine).map_err(RunError::Loop)?;
    task.add_done_callback(|event_loop, _| event_loop.stop());
    event_loop.run_forever().map_err(RunError::Loop)?;
    take_result(&task).map_err(RunError::Task)
}
// ANCHOR_END: run_until_complete

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::Loop(error) => write!(f, "the loop stopped: {error}"),
            RunError::Task(error) => write!(f, "the task ended without a value: {error}"),
        }
    }
}

impl std::error::Error for RunError {}
