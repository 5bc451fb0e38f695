//! `gather` under cancellation, each case on the virtual clock, as
//! asyncio 3.11's `gather` and `_GatheringFuture` behave.

mod common;

use common::{is_cancelled, new_loop, run};
use stage02_timed_events::AbstractEventLoop;
use stage03_read_readiness::SelectorEventLoop;
use stage04_futures_tasks::FutureError;
use stage05_cancellation::{Task, create_task, gather, gather_return_exceptions, sleep};

/// Three children that sleep 1, 2 and 3 s and return 1, 2, 3.
fn children(event_loop: &SelectorEventLoop) -> Vec<Task<u32>> {
    (1..=3)
        .map(|n| create_task(event_loop, sleep(f64::from(n), n)).unwrap())
        .collect()
}

#[test]
fn gather_gives_every_value_in_argument_order() {
    let event_loop = new_loop();
    let kids = children(&event_loop);
    let outcome = run(&event_loop, async move { gather(kids)?.await });
    let values: Vec<u32> = outcome.unwrap().into_iter().map(Result::unwrap).collect();
    assert_eq!(values, [1, 2, 3]);
}

#[test]
fn cancelling_the_awaiter_of_a_gather_cancels_every_child() {
    let event_loop = new_loop();
    let kids = children(&event_loop);
    let gathered = kids.clone();
    let awaiter = create_task(&event_loop, async move { gather(gathered)?.await }).unwrap();
    let target = awaiter.clone();
    let outcome = run(&event_loop, async move {
        sleep(0.5, ()).await?;
        target.cancel(None);
        Ok(target.await)
    });
    assert!(is_cancelled(&outcome.unwrap()));
    assert!(kids.iter().all(Task::cancelled));
}

#[test]
fn cancelling_one_child_reaches_the_awaiter_while_its_siblings_go_on() {
    let event_loop = new_loop();
    let kids = children(&event_loop);
    let (gathered, here) = (kids.clone(), event_loop.clone());
    let outcome = run(&event_loop, async move {
        let all = gather(gathered.clone())?;
        sleep(0.5, ()).await?;
        gathered[0].cancel(None);
        let seen = all.await;
        let seen_at = here.time();
        sleep(5.0, ()).await?; // the siblings finish
        Ok((seen, seen_at))
    });
    let (seen, seen_at) = outcome.unwrap();
    assert!(is_cancelled(&seen));
    assert_eq!(seen_at, 0.5);
    assert!(kids[0].cancelled());
    assert_eq!(
        (kids[1].result().unwrap(), kids[2].result().unwrap()),
        (2, 3)
    );
}

#[test]
fn with_return_exceptions_the_cancellation_is_one_of_the_results() {
    let event_loop = new_loop();
    let kids = children(&event_loop);
    let gathered = kids.clone();
    let outcome = run(&event_loop, async move {
        let all = gather_return_exceptions(gathered.clone())?;
        sleep(0.5, ()).await?;
        gathered[1].cancel(None);
        all.await
    });
    let results = outcome.unwrap();
    assert_eq!(results[0].as_ref().unwrap(), &1);
    assert!(is_cancelled(&results[1]));
    assert_eq!(results[2].as_ref().unwrap(), &3);
}

#[test]
fn cancelling_the_gather_itself_cancels_the_children() {
    let event_loop = new_loop();
    let kids = children(&event_loop);
    let gathered = kids.clone();
    let outcome = run(&event_loop, async move {
        let all = gather_return_exceptions(gathered)?;
        sleep(1.5, ()).await?;
        assert!(all.cancel(), "two children could still be cancelled");
        Ok(all.await)
    });
    assert!(is_cancelled(&outcome.unwrap()), "the awaiter sees it");
    assert_eq!(kids[0].result().unwrap(), 1, "done before the cancel");
    assert!(kids[1].cancelled() && kids[2].cancelled());
}

#[test]
fn a_failing_child_fails_the_gather_at_once_and_the_others_go_on() {
    let event_loop = new_loop();
    let failing = create_task(&event_loop, async {
        sleep(1.0, ()).await?;
        Err::<u32, _>(FutureError::InvalidState("broken"))
    })
    .unwrap();
    let slow = create_task(&event_loop, sleep(3.0, 2)).unwrap();
    let (kids, here) = (vec![failing, slow.clone()], event_loop.clone());
    let outcome = run(&event_loop, async move {
        let seen = gather(kids)?.await;
        let at = here.time();
        sleep(5.0, ()).await?;
        Ok((seen, at))
    });
    let (seen, at) = outcome.unwrap();
    assert!(matches!(seen, Err(FutureError::InvalidState("broken"))));
    assert_eq!(at, 1.0);
    assert_eq!(slow.result().unwrap(), 2);
}
