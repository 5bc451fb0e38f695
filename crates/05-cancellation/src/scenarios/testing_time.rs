//! Scenario 13, testing time-dependent code: the test of asynctest's
//! `ClockedTestCase` from the talk, on a [`ClockedLoop`]. A task waits at
//! most 10 s for a 20 s sleep; the test advances the clock by hand, 9 s
//! then 2 s, and looks at the task after each step; then awaits it and
//! gets the timeout error. No time passes for real, and none passes by
//! itself.

use std::rc::Rc;

use demo_support::Transcript;
use stage04_futures_tasks::{FutureError, run_until_complete, task_outcome};

use super::{ScenarioError, stamp};
use crate::testing::{AdvanceError, ClockedLoop};
use crate::{create_task, is_timeout, sleep, wait_for};

// ANCHOR: clocked_timeout
/// The talk's test: `wait_for(sleep(20 s), timeout=10 s)` is pending after
/// `advance(9)`, done after `advance(2)` more, and awaiting it gives the
/// timeout error.
pub fn clocked_timeout(out: &Transcript) -> Result<(), ScenarioError> {
    let clocked = ClockedLoop::new()?;
    let (here, log) = (clocked.event_loop().clone(), out.clone());
    // `wait_for` is called inside the task, where the loop runs.
    let task = create_task(&clocked, async move {
        stamp(&log, &here, "task: wait_for(sleep(20 s), timeout=10 s)");
        let outcome = wait_for(sleep(20.0, ()), Some(10.0)).await;
        let ended = describe(&outcome);
        stamp(&log, &here, &format!("task: it ended: {ended}"));
        outcome
    })?;
    for seconds in [9.0, 2.0] {
        stamp(out, &clocked, &format!("test: advance({seconds})"));
        advance(&clocked, seconds)?;
        let done = if task.done() { "done" } else { "pending" };
        stamp(out, &clocked, &format!("test: the task is {done}"));
    }
    let awaited = task_outcome(run_until_complete(&clocked, task))?;
    let awaited = describe(&awaited);
    stamp(out, &clocked, &format!("test: awaits it: {awaited}"));
    Ok(())
}
// ANCHOR_END: clocked_timeout

/// What a task's outcome was, as the test sees it.
fn describe(outcome: &Result<(), FutureError>) -> String {
    match outcome {
        Ok(()) => "it slept the 20 s".to_owned(),
        Err(error) if is_timeout(error) => format!("TimeoutError ({error})"),
        Err(error) => format!("another error: {error}"),
    }
}

/// `advance`, its error as the scenario's (the scenario's own steps are
/// all valid: only the loop can refuse them).
fn advance(clocked: &ClockedLoop, seconds: f64) -> Result<(), ScenarioError> {
    clocked.advance(seconds).map_err(|error| match error {
        AdvanceError::Loop(error) => ScenarioError::Loop(error),
        refused => ScenarioError::Main(FutureError::Exception(Rc::new(refused))),
    })
}
