//! `TaskGroup`, each case on the virtual clock, as asyncio 3.11's
//! `taskgroups.py` behaves.

mod common;

use common::{new_loop, run};
use demo_support::Transcript;
use stage02_timed_events::AbstractEventLoop;
use stage03_read_readiness::SelectorEventLoop;
use stage04_futures_tasks::FutureError;
use stage05_cancellation::{TaskGroup, create_task, group_errors, sleep};

/// A child that sleeps `delay` s and then fails with `why`, or, cancelled
/// first, says so and passes the cancellation on.
async fn child(
    out: Transcript,
    event_loop: SelectorEventLoop,
    name: &'static str,
    delay: f64,
    fails: Option<&'static str>,
) -> Result<u32, FutureError> {
    match sleep(delay, ()).await {
        Err(cancelled) => {
            out.say(format!("{:.1} {name}: cancelled", event_loop.time()));
            Err(cancelled)
        }
        Ok(()) => match fails {
            Some(why) => {
                out.say(format!("{:.1} {name}: fails", event_loop.time()));
                Err(FutureError::InvalidState(why))
            }
            None => {
                out.say(format!("{:.1} {name}: done", event_loop.time()));
                Ok(1)
            }
        },
    }
}

#[test]
fn the_block_waits_for_every_child_and_keeps_its_value() {
    let event_loop = new_loop();
    let (out, here) = (Transcript::new(), event_loop.clone());
    let log = out.clone();
    let outcome = run(&event_loop, async move {
        let group = TaskGroup::new();
        let inside = group.clone();
        let (l, h) = (log.clone(), here.clone());
        let value = group
            .run(async move {
                inside.create_task(child(l.clone(), h.clone(), "a", 1.0, None))?;
                inside.create_task(child(l, h, "b", 2.0, None))?;
                Ok("block")
            })
            .await?;
        Ok((value, here.time()))
    });
    assert_eq!(outcome.unwrap(), ("block", 2.0));
    assert_eq!(out.lines(), ["1.0 a: done", "2.0 b: done"]);
}

#[test]
fn the_first_failure_cancels_the_others_and_every_error_is_reported_together() {
    let event_loop = new_loop();
    let (out, here) = (Transcript::new(), event_loop.clone());
    let log = out.clone();
    let outcome = run(&event_loop, async move {
        let group = TaskGroup::new();
        let inside = group.clone();
        let (l, h) = (log.clone(), here.clone());
        let ended = group
            .run(async move {
                inside.create_task(child(l.clone(), h.clone(), "a", 1.0, Some("a broke")))?;
                inside.create_task(child(l.clone(), h.clone(), "b", 1.0, Some("b broke")))?;
                inside.create_task(child(l.clone(), h.clone(), "c", 5.0, None))?;
                // The block itself waits too: the group cancels it.
                let slept = sleep(10.0, ()).await;
                l.say(format!("{:.1} block: {slept:?}", h.time()));
                slept
            })
            .await;
        Ok((ended, here.time()))
    });
    let (ended, at) = outcome.unwrap();
    let error = ended.unwrap_err();
    let errors = group_errors(&error).expect("a group's errors");
    let reasons: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert!(reasons[0].contains("a broke") && reasons[1].contains("b broke"));
    assert_eq!(at, 1.0);
    assert_eq!(
        out.lines(),
        [
            "1.0 a: fails",
            "1.0 b: fails",
            "1.0 c: cancelled",
            "1.0 block: Err(cancelled)"
        ],
        "asyncio's order: the children cancelled first, then the parent"
    );
}

#[test]
fn cancelling_the_groups_owner_cancels_every_child() {
    let event_loop = new_loop();
    let (out, here) = (Transcript::new(), event_loop.clone());
    let log = out.clone();
    let owner = create_task(&event_loop, async move {
        let group = TaskGroup::new();
        let inside = group.clone();
        let (l, h) = (log.clone(), here.clone());
        group
            .run(async move {
                inside.create_task(child(l.clone(), h.clone(), "a", 5.0, None))?;
                inside.create_task(child(l, h, "b", 6.0, None))?;
                sleep(10.0, ()).await
            })
            .await
    })
    .unwrap();
    let target = owner.clone();
    let outcome = run(&event_loop, async move {
        sleep(1.0, ()).await?;
        target.cancel(None);
        Ok(target.await)
    });
    assert!(matches!(outcome.unwrap(), Err(FutureError::Cancelled)));
    assert!(owner.cancelled());
    assert_eq!(out.lines(), ["1.0 a: cancelled", "1.0 b: cancelled"]);
}

#[test]
fn a_group_refuses_children_before_its_block_and_after_it() {
    let event_loop = new_loop();
    let outcome = run(&event_loop, async {
        let group = TaskGroup::new();
        let early = group.create_task(async { Ok(1) }).map(|_| ());
        group.run(async { Ok(()) }).await?;
        let late = group.create_task(async { Ok(1) }).map(|_| ());
        let again = group.run(async { Ok(()) }).await;
        Ok((early, late, again))
    });
    let (early, late, again) = outcome.unwrap();
    assert!(matches!(early, Err(FutureError::InvalidState(_))));
    assert!(matches!(late, Err(FutureError::InvalidState(_))));
    assert!(matches!(again, Err(FutureError::InvalidState(_))));
}
