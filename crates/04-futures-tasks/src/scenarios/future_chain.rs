//! Scenario 7: a future and the task that awaits it, step by step.

use demo_support::Transcript;
use stage01_generator_loop::Clock;
use stage02_timed_events::AbstractEventLoop;

use super::{new_loop, stamp};
use crate::futures::Future;
use crate::runners::{RunError, run_until_complete};

// ANCHOR: chain
/// Scenario 7, its heart: a task awaits a bare future; a timer sets its
/// result a second later; the future's done-callback (the task's waker)
/// queues the task's next step; the task resumes with the value. Every
/// line says in which iteration of the loop it happened.
pub fn future_chain(clock: impl Clock + 'static, out: &Transcript) -> Result<(), RunError> {
    out.say("Scenario 7: a task awaits a future that a timer sets");
    let event_loop = new_loop(clock)?;
    let future: Future<&str> = Future::new(&event_loop);
    let (setter, log) = (future.clone(), out.clone());
    event_loop
        .call_later(1.0, move |event_loop| {
            stamp(&log, event_loop, "timer: future.set_result(\"data\")");
            let _ = setter.set_result("data");
        })
        .map_err(RunError::Loop)?;
    let (task_loop, log) = (event_loop.clone(), out.clone());
    let waiter = async move {
        stamp(
            &log,
            &task_loop,
            "task: await future (pending: the task sleeps)",
        );
        let value = future.await;
        stamp(&log, &task_loop, &format!("task: resumed with {value:?}"));
    };
    run_until_complete(&event_loop, waiter)
}
// ANCHOR_END: chain
