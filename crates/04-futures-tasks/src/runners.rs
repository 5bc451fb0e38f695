//! Running a coroutine to completion on a loop.
//!
//! Mirrors `BaseEventLoop.run_until_complete` in CPython's
//! `asyncio/base_events.py` (make a task of the coroutine, stop the loop
//! when the task is done, run the loop, hand back the task's outcome) and
//! `asyncio.run` in `asyncio/runners.py` (make a loop, run `main` on it,
//! report what is left, close the loop).

use std::fmt;
use std::future::IntoFuture;

use stage01_generator_loop::Clock;
use stage02_timed_events::{AbstractEventLoop, LoopError};
use stage03_read_readiness::{PollSelector, SelectorEventLoop, SelectorEvents};

use crate::futures::{Future, FutureError};
use crate::{Task, create_task, take_result};

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

/// What a run says of its task: `Ok` with the task's own outcome, its
/// value or its exception (a cancellation among them), or `Err` if the
/// loop failed. For tasks whose coroutine ends with an exception of its
/// own (stage 5's).
///
/// # Errors
/// The loop's failure.
pub fn task_outcome<T>(ran: Result<T, RunError>) -> Result<Result<T, FutureError>, RunError> {
    match ran {
        Ok(value) => Ok(Ok(value)),
        Err(RunError::Task(error)) => Ok(Err(error)),
        Err(failed) => Err(failed),
    }
}

// ANCHOR: run_until_complete
/// asyncio's `loop.run_until_complete(coro)`: run the loop until
/// `coroutine` (an `async` block, a task, or a future) is done, and evaluate
/// to its value. A coroutine is made a task first, as asyncio's
/// `ensure_future` does; a task is run as it is; a future is run in a task
/// that awaits it. Other tasks run meanwhile, and those not done by then
/// stay pending.
pub fn run_until_complete<C: IntoTask>(
    event_loop: &SelectorEventLoop,
    coroutine: C,
) -> Result<C::Output, RunError> {
    let task = coroutine.into_task(event_loop).map_err(RunError::Loop)?;
    task.add_done_callback(|event_loop, _| event_loop.stop());
    event_loop.run_forever().map_err(RunError::Loop)?;
    take_result(&task).map_err(RunError::Task)
}

/// What `run_until_complete` runs: a task, or a coroutine to make one of.
pub trait IntoTask {
    /// The task's value.
    type Output: 'static;
    /// The task: itself, or a new one on `event_loop`.
    fn into_task(self, event_loop: &SelectorEventLoop) -> Result<Task<Self::Output>, LoopError>;
}

impl<F: std::future::Future + 'static> IntoTask for F {
    type Output = F::Output;
    fn into_task(self, event_loop: &SelectorEventLoop) -> Result<Task<F::Output>, LoopError> {
        create_task(event_loop, self)
    }
}

impl<T: 'static> IntoTask for Task<T> {
    type Output = T;
    fn into_task(self, _: &SelectorEventLoop) -> Result<Task<T>, LoopError> {
        Ok(self)
    }
}

/// A bare future runs in a task that awaits it: its value is the future's
/// outcome, as `.await` gives it.
impl<T: Clone + 'static> IntoTask for Future<T> {
    type Output = Result<T, FutureError>;
    fn into_task(self, event_loop: &SelectorEventLoop) -> Result<Task<Self::Output>, LoopError> {
        create_task(event_loop, self.into_future())
    }
}
// ANCHOR_END: run_until_complete

/// The kind of task the crate did not choose (see [`fast`](crate::fast))
/// runs in a task of the chosen kind that awaits it.
#[cfg(not(feature = "fast"))]
impl<T: Clone + 'static> IntoTask for crate::fast::Task<T> {
    type Output = Result<T, FutureError>;
    fn into_task(self, event_loop: &SelectorEventLoop) -> Result<Task<Self::Output>, LoopError> {
        create_task(event_loop, self.into_future())
    }
}

#[cfg(feature = "fast")]
impl<T: Clone + 'static> IntoTask for crate::tasks::Task<T> {
    type Output = Result<T, FutureError>;
    fn into_task(self, event_loop: &SelectorEventLoop) -> Result<Task<Self::Output>, LoopError> {
        create_task(event_loop, self.into_future())
    }
}

// ANCHOR: run
/// `asyncio.run(main())`: a new loop on `clock` (waiting in `poll(2)`), the
/// coroutine `main` makes run to completion on it, then the loop closed,
/// which drops every task still pending and reports each to the loop's
/// exception handler as asyncio reports it ("Task was destroyed but it is
/// pending!"). (asyncio.run cancels them first; cancellation is stage 5's.)
pub fn run<C: IntoTask>(
    clock: impl Clock + 'static,
    main: impl FnOnce(&SelectorEventLoop) -> C,
) -> Result<C::Output, RunError> {
    let selector = PollSelector::new();
    let event_loop = SelectorEventLoop::with_selector(clock, selector)
        .map_err(|error| RunError::Loop(LoopError::Poll(std::io::Error::other(error))))?;
    let outcome = run_until_complete(&event_loop, main(&event_loop));
    event_loop.close().map_err(RunError::Loop)?;
    outcome
}
// ANCHOR_END: run

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::Loop(error) => write!(f, "the loop stopped: {error}"),
            RunError::Task(error) => write!(f, "the task ended without a value: {error}"),
        }
    }
}

impl std::error::Error for RunError {}
