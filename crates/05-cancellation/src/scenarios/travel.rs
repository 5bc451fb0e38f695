//! How a cancellation travels: main cancels `outer`, which awaits `inner`,
//! which sleeps. The cancellation goes down to where the work waits, and
//! comes back up through every `.await`, each clean-up running on the way.

use demo_support::{Timeline, Transcript};
use stage01_generator_loop::Clock;
use stage04_futures_tasks::{FutureError, run_until_complete, task_outcome};

use super::{ScenarioError, new_loop, stamp};
use crate::{create_task, sleep};

// ANCHOR: travels
/// `inner` sleeps 10 s and, cancelled, flushes for 0.5 s before passing
/// the cancellation on; `outer` awaits `inner` and, cancelled, says so;
/// main cancels `outer` at 1 s and awaits it.
pub fn cancellation_travels(
    clock: impl Clock + 'static,
    out: &Transcript,
    timeline: &Timeline,
) -> Result<(), ScenarioError> {
    let event_loop = new_loop(clock)?;
    event_loop.set_timeline(timeline.clone());
    let (here, log) = (event_loop.clone(), out.clone());
    let inner = create_task(&event_loop, async move {
        stamp(&log, &here, "inner: sleeps 10 s");
        let slept = sleep(10.0, ()).await;
        if let Err(cancelled) = slept {
            stamp(
                &log,
                &here,
                "inner: cancelled at its sleep; flushes for 0.5 s",
            );
            sleep(0.5, ()).await?;
            stamp(&log, &here, "inner: flushed; passes the cancellation on");
            return Err(cancelled);
        }
        Ok(())
    })?;
    inner.set_name("inner");
    let (here, log) = (event_loop.clone(), out.clone());
    let outer = create_task(&event_loop, async move {
        stamp(&log, &here, "outer: awaits inner");
        let awaited = inner.await;
        if matches!(awaited, Err(FutureError::Cancelled)) {
            stamp(&log, &here, "outer: inner was cancelled; so am I");
        }
        awaited
    })?;
    outer.set_name("outer");
    let (here, log) = (event_loop.clone(), out.clone());
    let main = create_task(&event_loop, async move {
        sleep(1.0, ()).await?;
        stamp(&log, &here, "main: cancels outer");
        outer.cancel(None);
        stamp(&log, &here, "main: outer is not cancelled yet; awaits it");
        let awaited = outer.await;
        stamp(&log, &here, &format!("main: outer ended: {awaited:?}"));
        Ok(())
    })?;
    main.set_name("main");
    task_outcome(run_until_complete(&event_loop, main))?.map_err(ScenarioError::Main)
}
// ANCHOR_END: travels
