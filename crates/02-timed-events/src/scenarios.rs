//! Scenarios 4 (timed events) and 9 (concurrency arithmetic), from the
//! Stack Overflow question "How does asyncio enable parallel IO waits?", as
//! functions the demo, the tests and the book all run. Each writes what it
//! prints to a [`Transcript`].

use std::time::Duration;

use demo_support::{Mark, Timeline, Transcript};
use stage01_generator_loop::{AsyncCoroutine, Clock, Coroutine, Yielder};

use crate::abstract_loop::AbstractEventLoop;
use crate::driver::RunCoroutines;
use crate::driver::{SleepUntil, asleep, sleep};
use crate::error::LoopError;
use crate::event_loop::EventLoop;
use crate::schedule::{Heap, SortedList};
use crate::schedule_loop;

/// Scenario 4's sleepers, their steps, and the length of a step.
pub const SLEEPERS: usize = 5;
/// How many steps each sleeper takes.
pub const STEPS: u32 = 5;
/// How long each step sleeps (as two events of half as long).
pub const STEP: Duration = Duration::from_millis(100);

// ANCHOR: sleepy
/// The question's `sleepy`: `STEPS` steps of `asleep(STEP)`, printing each.
pub async fn sleepy(co: Yielder<SleepUntil>, name: String, out: Transcript) -> String {
    for step in 1..=STEPS {
        asleep(&co, STEP).await;
        out.at(co.now(), &format!("{name} step {step}"));
    }
    format!("{name} done")
}
// ANCHOR_END: sleepy

fn sleepers(
    out: &Transcript,
) -> Vec<(
    String,
    impl Coroutine<Yield = SleepUntil, Output = String> + 'static,
)> {
    (1..=SLEEPERS)
        .map(|n| {
            let (name, out) = (format!("sleepy {n}"), out.clone());
            let coroutine = AsyncCoroutine::new({
                let name = name.clone();
                move |co| sleepy(co, name, out)
            });
            (name, coroutine)
        })
        .collect()
}

/// Scenario 4 on the callback loop, recording on `timeline`: five sleepers
/// finish together at 0.5 s, not one after another at 2.5 s.
pub fn timed_events(
    clock: impl Clock + 'static,
    out: &Transcript,
    timeline: &Timeline,
) -> Result<(), LoopError> {
    out.say(format!(
        "Scenario 4: {SLEEPERS} sleepers, {STEPS} steps of {} s each (two events per step)",
        STEP.as_secs_f64()
    ));
    let event_loop = EventLoop::new(clock);
    event_loop.set_timeline(timeline.clone());
    event_loop.gather(sleepers(out))?;
    let resumes = timeline
        .marks()
        .iter()
        .filter(|(_, mark)| matches!(mark, Mark::Resumed { .. }))
        .count();
    out.say(format!(
        "  callback loop: all done at {:.3} s, {resumes} resumes in {} iterations",
        event_loop.time(),
        event_loop.iterations()
    ));
    Ok(())
}

/// Scenario 4 on the question's naive loop, first with a sorted list and then
/// with a heap: the same order, the same times, the same number of resumes.
pub fn timed_events_naive<C: Clock>(new_clock: impl Fn() -> C, out: &Transcript) {
    let quiet = Transcript::new();
    for (schedule, run) in [
        (
            "sorted list",
            schedule_loop::run::<_, SortedList<_>> as fn(&C, _) -> _,
        ),
        ("heap", schedule_loop::run::<_, Heap<_>>),
    ] {
        let clock = new_clock();
        let (finished, resumes) = run(
            &clock,
            sleepers(&quiet).into_iter().map(|(_, c)| c).collect(),
        );
        let last = finished.last().map_or(Duration::ZERO, |f| f.at);
        out.say(format!(
            "  naive loop on a {schedule}: all done at {:.3} s, {resumes} resumes",
            last.as_secs_f64()
        ));
    }
}

// ANCHOR: count
/// The question's `count`: One, a second's sleep, Two, two seconds, Three.
pub async fn count(co: Yielder<SleepUntil>, out: Transcript) {
    out.at(co.now(), "One");
    sleep(&co, Duration::from_secs(1)).await;
    out.at(co.now(), "Two");
    sleep(&co, Duration::from_secs(2)).await;
    out.at(co.now(), "Three");
}
// ANCHOR_END: count

/// Scenario 9: five `count()` gathered take 3 s; one after another, 15 s.
pub fn concurrency_arithmetic<C: Clock + 'static>(
    new_clock: impl Fn() -> C,
    out: &Transcript,
) -> Result<(), LoopError> {
    out.say("Scenario 9: five count() gathered, then one after another");
    let counts = |out: &Transcript| {
        (1..=5)
            .map(|n| {
                let out = out.clone();
                (
                    format!("count {n}"),
                    AsyncCoroutine::new(move |co| count(co, out)),
                )
            })
            .collect::<Vec<_>>()
    };
    let event_loop = EventLoop::new(new_clock());
    event_loop.gather(counts(out))?;
    out.say(format!("  gathered: done at {:.3} s", event_loop.time()));

    let event_loop = EventLoop::new(new_clock());
    let quiet = Transcript::new();
    for (name, coroutine) in counts(&quiet) {
        event_loop.run_until_complete(&name, coroutine)?;
    }
    out.say(format!(
        "  one after another: {} lines, done at {:.3} s",
        quiet.lines().len(),
        event_loop.time()
    ));
    Ok(())
}
