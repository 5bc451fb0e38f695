//! Scenario 11, blocking code: a task that calls a blocking function
//! freezes every other task, and debug mode says which; the same function
//! through `run_in_executor` does not.
//!
//! From Bruce Merry's PyCon ZA 2018 talk "An introduction to concurrent
//! programming with asyncio": `time.sleep` in a coroutine stops the whole
//! loop, and `run_in_executor` is the way out.

use std::sync::mpsc;
use std::time::Duration;

use demo_support::Transcript;
use stage01_generator_loop::{Clock, RealClock};
use stage02_timed_events::AbstractEventLoop;

use super::{ScenarioError, new_loop, stamp};
use crate::executor::run_in_executor;
use crate::runners::run_until_complete;
use crate::{create_task, gather, sleep};

/// How long the blocking call blocks, in seconds.
pub const BLOCKS_FOR: f64 = 0.5;

// ANCHOR: blocking_in_a_task
/// A ticker that ticks every 0.1 s, and a task that, 0.15 s in, calls a
/// function that blocks for [`BLOCKS_FOR`] seconds (`clock.sleep`: the
/// thread's sleep on the real clock; on the virtual clock it moves the
/// clock on, as a blocked thread would see it). In debug mode: the ticks
/// stop while it blocks, and the loop reports the step that held it.
pub fn blocking_in_a_task(
    clock: impl Clock + Clone + 'static,
    out: &Transcript,
) -> Result<(), ScenarioError> {
    let event_loop = new_loop(clock.clone())?;
    event_loop.set_debug(true);
    let log = out.clone();
    event_loop.set_exception_handler(move |event_loop, report| {
        stamp(&log, event_loop, &format!("debug:   {}", report.message));
    });
    let (ticks, blocks) = (event_loop.clone(), event_loop.clone());
    let (tick_log, block_log) = (out.clone(), out.clone());
    let ticker = async move {
        for tick in 1..=5 {
            sleep(0.1, ()).await;
            stamp(&tick_log, &ticks, &format!("ticker:  tick {tick}"));
        }
    };
    let blocker = async move {
        sleep(0.15, ()).await;
        stamp(
            &block_log,
            &blocks,
            &format!("blocker: calls a function that blocks for {BLOCKS_FOR} s"),
        );
        clock.sleep(Duration::from_secs_f64(BLOCKS_FOR));
        stamp(&block_log, &blocks, "blocker: the function returned");
    };
    let spawner = event_loop.clone();
    run_until_complete(&event_loop, async move {
        let ticker = create_task(&spawner, ticker).expect("the loop is open");
        let blocker = create_task(&spawner, blocker).expect("the loop is open");
        ticker.set_name("ticker");
        blocker.set_name("blocker");
        gather((ticker, blocker)).await.expect("neither panics");
    })?;
    Ok(())
}
// ANCHOR_END: blocking_in_a_task

// ANCHOR: blocking_in_the_pool
/// The same blocking call, run in the loop's default pool: the ticker goes
/// on ticking while it blocks. To show it without timing anything, the
/// function blocks until the ticker has ticked three times, which it could
/// never do if the function held the loop.
pub fn blocking_in_the_pool(out: &Transcript) -> Result<(), ScenarioError> {
    let event_loop = new_loop(RealClock::new())?;
    event_loop.set_debug(true);
    let log = out.clone();
    event_loop
        .set_exception_handler(move |_, report| log.say(format!("debug:   {}", report.message)));
    let (tell, heard) = mpsc::channel();
    let (inner, log) = (event_loop.clone(), out.clone());
    run_until_complete(&event_loop, async move {
        let function = run_in_executor(&inner, None, move || {
            let ticks = (0..3).filter(|_| heard.recv().is_ok()).count();
            format!("saw {ticks} ticks while it blocked")
        })
        .expect("the loop is open");
        log.say("main:    handed the blocking function to the pool");
        for tick in 1..=3 {
            sleep(0.05, ()).await;
            log.say(format!("ticker:  tick {tick}"));
            let _ = tell.send(tick);
        }
        let said = function.await.expect("the function does not panic");
        log.say(format!("main:    the function returned: it {said}"));
    })?;
    Ok(())
}
// ANCHOR_END: blocking_in_the_pool
