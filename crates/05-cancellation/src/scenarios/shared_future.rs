//! Scenario 12's anti-pattern, from Bruce Merry's PyCon ZA 2018 talk:
//! several tasks await one bare future as if it were an event. A task's
//! cancellation goes to what it waits on, so cancelling one waiter cancels
//! the shared future, and every other waiter fails with it. An `Event`
//! gives each waiter a future of its own, so a cancel touches only one.

use std::rc::Rc;

use demo_support::Transcript;
use stage01_generator_loop::Clock;
use stage04_futures_tasks::{Event, Future, FutureError, run_until_complete, task_outcome};

use super::{ScenarioError, new_loop, stamp};
use crate::{create_task, sleep};

/// What the waiters wait on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitOn {
    /// One bare future, shared: the anti-pattern.
    SharedFuture,
    /// An `Event`.
    Event,
}

// ANCHOR: shared_future
/// Three waiters wait on `wait_on`; at 1 s main cancels the first, at 2 s
/// it sets the event (or the future, if it can still be set), and each
/// waiter says how its wait ended.
pub fn waiters_of_one_signal(
    clock: impl Clock + 'static,
    wait_on: WaitOn,
    out: &Transcript,
) -> Result<(), ScenarioError> {
    let event_loop = new_loop(clock)?;
    let (future, event) = (Future::<()>::new(&event_loop), Rc::new(Event::new()));
    let mut waiters = Vec::new();
    for name in ["waiter 1", "waiter 2", "waiter 3"] {
        let (future, event) = (future.clone(), Rc::clone(&event));
        let (here, log) = (event_loop.clone(), out.clone());
        waiters.push(create_task(&event_loop, async move {
            let waited = match wait_on {
                WaitOn::SharedFuture => future.await,
                WaitOn::Event => event.wait().await,
            };
            stamp(&log, &here, &format!("{name}: {waited:?}"));
            Ok::<_, FutureError>(())
        })?);
    }
    let (here, log) = (event_loop.clone(), out.clone());
    let main = create_task(&event_loop, async move {
        sleep(1.0, ()).await?;
        stamp(&log, &here, "main: cancels waiter 1");
        waiters[0].cancel(None);
        sleep(1.0, ()).await?;
        stamp(&log, &here, "main: sets the signal");
        match wait_on {
            WaitOn::SharedFuture => {
                if future.set_result(()).is_err() {
                    stamp(&log, &here, "main: the future was cancelled already");
                }
            }
            WaitOn::Event => event.set(),
        }
        for waiter in waiters {
            let _ended = waiter.await;
        }
        Ok(())
    })?;
    task_outcome(run_until_complete(&event_loop, main))?.map_err(ScenarioError::Main)
}
// ANCHOR_END: shared_future
