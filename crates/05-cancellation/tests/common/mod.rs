//! What the stage 5 tests share: a loop on a virtual clock, and running a
//! main stage 5 task on it to its end.

#![allow(dead_code, reason = "not every test binary uses every helper")]

use stage01_generator_loop::VirtualClock;
use stage03_read_readiness::{PollSelector, SelectorEventLoop, SelectorEvents};
use stage04_futures_tasks::{FutureError, run_until_complete, task_outcome};
use stage05_cancellation::create_task;

/// A loop on a virtual clock: exact times, nothing waits.
pub(crate) fn new_loop() -> SelectorEventLoop {
    SelectorEventLoop::with_selector(VirtualClock::new(), PollSelector::new()).unwrap()
}

/// Run `main` as a stage 5 task on `event_loop`, to its end: its outcome.
pub(crate) fn run<T: 'static>(
    event_loop: &SelectorEventLoop,
    main: impl std::future::Future<Output = Result<T, FutureError>> + 'static,
) -> Result<T, FutureError> {
    let main = create_task(event_loop, main).unwrap();
    task_outcome(run_until_complete(event_loop, main)).unwrap()
}

/// Whether `outcome` is a cancellation.
pub(crate) fn is_cancelled<T>(outcome: &Result<T, FutureError>) -> bool {
    matches!(outcome, Err(FutureError::Cancelled))
}
