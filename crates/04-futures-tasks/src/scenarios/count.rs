//! Scenario 9: concurrency arithmetic, five `count()` gathered or awaited
//! one after another.

use demo_support::{Timeline, Transcript};
use stage01_generator_loop::Clock;
use stage02_timed_events::AbstractEventLoop;
use stage03_read_readiness::SelectorEventLoop;

use super::{new_loop, stamp};
use crate::create_task;
use crate::gather::gather;
use crate::runners::{RunError, run_until_complete};
use crate::sleep::sleep;

// ANCHOR: count
/// The question's `count`: One, a second's sleep, Two, two seconds, Three.
pub async fn count(event_loop: SelectorEventLoop, out: Transcript) {
    stamp(&out, &event_loop, "One");
    sleep(1.0, ()).await;
    stamp(&out, &event_loop, "Two");
    sleep(2.0, ()).await;
    stamp(&out, &event_loop, "Three");
}
// ANCHOR_END: count

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
