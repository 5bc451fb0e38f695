//! Scenarios 7 (a future and the task that awaits it, step by step) and 9
//! (concurrency arithmetic), from the Stack Overflow question "How does
//! asyncio enable parallel IO waits?", as functions the demo, the tests and
//! the book all run. Each writes what it prints to a [`Transcript`].

use demo_support::{Timeline, Transcript};
use stage01_generator_loop::Clock;
use stage02_timed_events::{AbstractEventLoop, LoopError};
use stage03_read_readiness::{PollSelector, SelectorEventLoop, SelectorEvents};

use crate::futures::Future;
use crate::gather::gather;
use crate::runners::{RunError, run_until_complete};
use crate::sleep::sleep;
use crate::tasks::create_task;

/// A loop on `clock`, waiting in `poll(2)`.
fn new_loop(clock: impl Clock + 'static) -> Result<SelectorEventLoop, RunError> {
    SelectorEventLoop::with_selector(clock, PollSelector::new())
        .map_err(|error| RunError::Loop(LoopError::Poll(std::io::Error::other(error))))
}

/// Stamp `text` with the loop's time and iteration.
fn stamp(out: &Transcript, event_loop: &SelectorEventLoop, text: &str) {
    let iteration = event_loop.iterations();
    out.say(format!(
        "{:7.3}  iteration {iteration}: {text}",
        event_loop.time()
    ));
}

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

// ANCHOR: count
/// The question's `count`: One, a second's sleep, Two, two seconds, Three.
pub async fn count(event_loop: SelectorEventLoop, out: Transcript) {
    stamp(&out, &event_loop, "One");
    sleep(1.0, ()).await;
    stamp(&out, &event_loop, "Two");
    sleep(2.0, ()).await;
    stamp(&out, &event_loop, "Three");
}

/// Scenario 9: five `count()` tasks, gathered, take 3 s (recorded on
/// `timeline`); awaited one after another, without tasks, 15 s.
pub fn concurrency_arithmetic<C: Clock + 'static>(
    new_clock: impl Fn() -> C,
    out: &Transcript,
    timeline: &Timeline,
) -> Result<(), RunError> {
    out.say("Scenario 9: five count() gathered, then one after another");
    let event_loop = new_loop(new_clock())?;
    event_loop.set_timeline(timeline.clone());
    let tasks = (1..=5)
        .map(|n| {
            let task = create_task(&event_loop, count(event_loop.clone(), out.clone()))?;
            task.set_name(format!("count {n}"));
            Ok(task)
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(RunError::Loop)?;
    let gathering = create_task(&event_loop, gather(tasks)).map_err(RunError::Loop)?;
    gathering.set_name("gather");
    run_until_complete(&event_loop, gathering)?.map_err(RunError::Task)?;
    out.say(format!("  gathered: done at {:.3} s", event_loop.time()));

    let event_loop = new_loop(new_clock())?;
    let quiet = Transcript::new();
    let one_by_one = {
        let (event_loop, quiet) = (event_loop.clone(), quiet.clone());
        async move {
            for _ in 0..5 {
                count(event_loop.clone(), quiet.clone()).await;
            }
        }
    };
    run_until_complete(&event_loop, one_by_one)?;
    out.say(format!(
        "  one after another: {} lines, done at {:.3} s",
        quiet.lines().len(),
        event_loop.time()
    ));
    Ok(())
}
// ANCHOR_END: count

/// Every scenario in turn, each on a fresh clock from `new_clock`; scenario
/// 9's five tasks recorded on `timeline`.
pub fn run_all<C: Clock + 'static>(
    new_clock: impl Fn() -> C,
    out: &Transcript,
    timeline: &Timeline,
) -> Result<(), RunError> {
    future_chain(new_clock(), out)?;
    out.say("");
    concurrency_arithmetic(&new_clock, out, timeline)
}
