//! Scenario 14, debugging: the task table, as aiomonitor's `ps` and
//! `where` print it, from Bruce Merry's PyCon ZA 2018 talk (which shows
//! aiomonitor) and the notes of the talk's last part.

use demo_support::Transcript;
use stage01_generator_loop::Clock;

use super::{ScenarioError, new_loop, stamp};
use crate::futures::Future;
use crate::runners::run_until_complete;
use crate::{create_task, keep_done_tasks, sleep, task_table, yield_now};

// ANCHOR: inspect
/// Three tasks wait in three ways (a long sleep, a future nobody has set
/// yet, turns given up one by one) and a fourth is done at once; the
/// fifth, once they have started, prints the task table (the done one is
/// still in it: its handle is held), then lets them all finish.
pub fn where_tasks_wait(
    clock: impl Clock + 'static,
    out: &Transcript,
) -> Result<(), ScenarioError> {
    let event_loop = new_loop(clock)?;
    keep_done_tasks(&event_loop)?; // as a monitor asks
    let answer: Future<u32> = Future::new(&event_loop);
    let (spawner, log, waited_for) = (event_loop.clone(), out.clone(), answer.clone());
    run_until_complete(&event_loop, async move {
        let sleeper = create_task(&spawner, sleep(10.0, ())).expect("the loop is open");
        sleeper.set_name("sleeper");
        let waiter =
            create_task(&spawner, async move { waited_for.await.ok() }).expect("the loop is open");
        waiter.set_name("waiter");
        let yielder = create_task(&spawner, async {
            for _ in 0..3 {
                yield_now().await;
            }
        })
        .expect("the loop is open");
        yielder.set_name("yielder");
        let quick = create_task(&spawner, async {}).expect("the loop is open");
        quick.set_name("quick");
        yield_now().await; // the four start; three wait
        stamp(&log, &spawner, "the task table:");
        for row in task_table(&spawner) {
            log.say(format!("    {row}"));
        }
        answer.set_result(42).expect("nobody else sets it");
        let _ = (sleeper.await, waiter.await, yielder.await, quick.await);
        stamp(&log, &spawner, "every task done");
    })?;
    Ok(())
}
// ANCHOR_END: inspect
