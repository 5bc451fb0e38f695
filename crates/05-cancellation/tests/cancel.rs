//! The behaviours asyncio users rely on, each on the virtual clock: who
//! sees a cancellation, when, and how a task ends.

use std::cell::Cell;
use std::rc::Rc;

use demo_support::Transcript;
use stage01_generator_loop::VirtualClock;
use stage02_timed_events::AbstractEventLoop;
use stage03_read_readiness::{PollSelector, SelectorEventLoop, SelectorEvents};
use stage04_futures_tasks::{FutureError, run_until_complete, task_outcome};
use stage05_cancellation::{create_task, current_task, sleep, yield_now};

fn new_loop() -> SelectorEventLoop {
    SelectorEventLoop::with_selector(VirtualClock::new(), PollSelector::new()).unwrap()
}

/// Say `what` at the loop's time.
fn say(out: &Transcript, event_loop: &SelectorEventLoop, what: &str) {
    out.say(format!("{:.1} {what}", event_loop.time()));
}

fn is_cancelled<T>(outcome: &Result<T, FutureError>) -> bool {
    matches!(outcome, Err(FutureError::Cancelled))
}

#[test]
fn right_after_cancel_the_task_is_neither_done_nor_cancelled_then_its_awaiter_sees_it() {
    let event_loop = new_loop();
    let sleeper = create_task(&event_loop, sleep(10.0, ())).unwrap();
    let (inner, task) = (event_loop.clone(), sleeper.clone());
    let seen = run_until_complete(&event_loop, async move {
        sleep(1.0, ()).await.unwrap();
        assert!(task.cancel(None));
        assert!(!task.done() && !task.cancelled(), "not yet: it has not run");
        let outcome = task.clone().await;
        (outcome, inner.time())
    })
    .unwrap();
    assert!(is_cancelled(&seen.0));
    assert_eq!(seen.1, 1.0, "no time passes for a cancellation");
    assert!(sleeper.done() && sleeper.cancelled());
    assert!(!sleeper.cancel(None), "a finished task refuses");
    assert!(is_cancelled(&sleeper.result()));
}

#[test]
fn a_task_cancelled_before_its_first_step_never_runs_its_body() {
    let event_loop = new_loop();
    let ran = Rc::new(Cell::new(false));
    let body = Rc::clone(&ran);
    let task = create_task(&event_loop, async move {
        body.set(true);
        Ok(())
    })
    .unwrap();
    assert!(task.cancel(None));
    let outcome = task_outcome(run_until_complete(&event_loop, task.clone())).unwrap();
    assert!(is_cancelled(&outcome));
    assert!(!ran.get());
    assert!(task.cancelled());
}

#[test]
fn cancelling_the_outer_reaches_the_inner_first_then_the_outer_then_its_awaiter() {
    let event_loop = new_loop();
    let out = Transcript::new();
    let (l1, o1) = (event_loop.clone(), out.clone());
    let inner = create_task(&event_loop, async move {
        let outcome = sleep(10.0, ()).await;
        say(&o1, &l1, &format!("inner: cleans up ({outcome:?})"));
        outcome
    })
    .unwrap();
    let (l2, o2) = (event_loop.clone(), out.clone());
    let outer = create_task(&event_loop, async move {
        let outcome = inner.await;
        say(&o2, &l2, &format!("outer: cleans up ({outcome:?})"));
        outcome
    })
    .unwrap();
    let (l3, o3, target) = (event_loop.clone(), out.clone(), outer.clone());
    run_until_complete(&event_loop, async move {
        sleep(1.0, ()).await.unwrap();
        say(&o3, &l3, "main: cancels outer");
        target.cancel(None);
        let outcome = target.await;
        say(&o3, &l3, &format!("main: sees {outcome:?}"));
    })
    .unwrap();
    assert_eq!(
        out.lines(),
        [
            "1.0 main: cancels outer",
            "1.0 inner: cleans up (Err(cancelled))",
            "1.0 outer: cleans up (Err(cancelled))",
            "1.0 main: sees Err(cancelled)",
        ]
    );
    assert!(outer.cancelled());
}

#[test]
fn an_inner_that_swallows_the_cancellation_hands_its_value_to_an_outer_never_cancelled() {
    let event_loop = new_loop();
    let inner = create_task(&event_loop, async {
        match sleep(10.0, 1).await {
            Ok(value) => Ok(value),
            Err(_) => Ok(42), // refuses the cancellation
        }
    })
    .unwrap();
    let outer = create_task(&event_loop, async move {
        let value = inner.await?;
        sleep(1.0, ()).await?; // carries on
        Ok(value + 1)
    })
    .unwrap();
    let target = outer.clone();
    let outcome = run_until_complete(&event_loop, async move {
        sleep(1.0, ()).await.unwrap();
        target.cancel(None);
        target.await
    })
    .unwrap();
    assert_eq!(outcome.unwrap(), 43);
    assert!(!outer.cancelled());
}

#[test]
fn a_task_that_catches_the_cancellation_and_goes_on_is_not_cancelled() {
    let event_loop = new_loop();
    let inner_loop = event_loop.clone();
    let worker = create_task(&event_loop, async move {
        let caught = sleep(10.0, ()).await.is_err();
        sleep(2.0, ()).await?; // goes on working
        Ok((caught, inner_loop.time()))
    })
    .unwrap();
    let target = worker.clone();
    let outcome = run_until_complete(&event_loop, async move {
        sleep(1.0, ()).await.unwrap();
        target.cancel(None);
        target.await
    })
    .unwrap();
    assert_eq!(outcome.unwrap(), (true, 3.0));
    assert!(!worker.cancelled() && worker.done());
}

#[test]
fn a_task_that_cancels_itself_and_returns_ends_cancelled() {
    let event_loop = new_loop();
    let task = create_task(&event_loop, async {
        current_task().unwrap().cancel(None);
        Ok("returned anyway")
    })
    .unwrap();
    let outcome = task_outcome(run_until_complete(&event_loop, task.clone())).unwrap();
    assert!(is_cancelled(&outcome));
    assert!(task.cancelled());
}

#[test]
fn a_task_that_cancels_itself_gets_it_at_its_next_await_with_no_time_passing() {
    for delay in [5.0, 0.0] {
        let event_loop = new_loop();
        let inner = event_loop.clone();
        let task = create_task(&event_loop, async move {
            current_task().unwrap().cancel(None);
            let outcome = sleep(delay, ()).await;
            Ok((outcome.is_err(), inner.time()))
        })
        .unwrap();
        let outcome = task_outcome(run_until_complete(&event_loop, task)).unwrap();
        assert_eq!(outcome.unwrap(), (true, 0.0), "sleep({delay})");
    }
}

#[test]
fn clean_up_that_awaits_delays_the_awaiter_until_it_is_done() {
    let event_loop = new_loop();
    let worker = create_task(&event_loop, async {
        if sleep(10.0, ()).await.is_err() {
            sleep(0.5, ()).await?; // flush
            return Err(FutureError::Cancelled);
        }
        Ok(())
    })
    .unwrap();
    let (inner, target) = (event_loop.clone(), worker.clone());
    let (outcome, ended_at) = run_until_complete(&event_loop, async move {
        sleep(1.0, ()).await.unwrap();
        target.cancel(None);
        let outcome = target.await;
        (outcome, inner.time())
    })
    .unwrap();
    assert!(is_cancelled(&outcome));
    assert_eq!(ended_at, 1.5);
}

#[test]
fn cancelling_counts_requests_and_uncancel_takes_them_back() {
    let event_loop = new_loop();
    let task = create_task(&event_loop, async {
        let mut refused = 0;
        // Bounded, so that a cancel that never arrives fails the test.
        for _ in 0..10 {
            if sleep(10.0, ()).await.is_err() {
                refused += 1;
                current_task().unwrap().uncancel();
            }
            if refused == 2 {
                return Ok(current_task().unwrap().cancelling());
            }
        }
        Ok(u32::MAX)
    })
    .unwrap();
    let target = task.clone();
    let outcome = run_until_complete(&event_loop, async move {
        for _ in 0..2 {
            yield_now().await.unwrap();
            target.cancel(None);
            assert!(target.cancelling() >= 1);
        }
        target.await
    })
    .unwrap();
    assert_eq!(outcome.unwrap(), 0, "both requests taken back");
}

#[test]
fn a_cancel_while_waiting_at_a_bare_yield_arrives_at_that_yield() {
    let event_loop = new_loop();
    let task = create_task(&event_loop, async {
        // Bounded, so that a cancel that never arrives fails the test.
        for _ in 0..1_000 {
            yield_now().await?;
        }
        Ok(())
    })
    .unwrap();
    let target = task.clone();
    let outcome: Result<(), FutureError> = run_until_complete(&event_loop, async move {
        yield_now().await.unwrap();
        target.cancel(Some("enough"));
        target.await
    })
    .unwrap();
    assert!(is_cancelled(&outcome));
    assert_eq!(task.cancel_message().as_deref(), Some("enough"));
}
