//! `shield`, `wait_for` and timeout scopes, each behaviour on the virtual
//! clock, as asyncio 3.11 defines it.

use std::cell::Cell;
use std::rc::Rc;

use stage01_generator_loop::VirtualClock;
use stage02_timed_events::AbstractEventLoop;
use stage03_read_readiness::{PollSelector, SelectorEventLoop, SelectorEvents};
use stage04_futures_tasks::{FutureError, run_until_complete, task_outcome};
use stage05_cancellation::{
    Task, create_task, current_task, is_timeout, shield, sleep, timeout, wait_for,
};

fn new_loop() -> SelectorEventLoop {
    SelectorEventLoop::with_selector(VirtualClock::new(), PollSelector::new()).unwrap()
}

/// Run `main` as a stage 5 task; its outcome, and the loop's time at its end.
fn run<T: 'static>(
    event_loop: &SelectorEventLoop,
    main: impl std::future::Future<Output = Result<T, FutureError>> + 'static,
) -> (Result<T, FutureError>, f64) {
    let main = create_task(event_loop, main).unwrap();
    let outcome = task_outcome(run_until_complete(event_loop, main)).unwrap();
    (outcome, event_loop.time())
}

fn is_cancelled<T>(outcome: &Result<T, FutureError>) -> bool {
    matches!(outcome, Err(FutureError::Cancelled))
}

/// A task that sleeps `delay` s and returns `value`; cancelled, it cleans up
/// for `clean_up` s and passes the cancellation on.
fn worker(event_loop: &SelectorEventLoop, delay: f64, clean_up: f64, value: u32) -> Task<u32> {
    create_task(event_loop, async move {
        match sleep(delay, value).await {
            Err(cancelled) => {
                sleep(clean_up, ()).await?;
                Err(cancelled)
            }
            done => done,
        }
    })
    .unwrap()
}

#[test]
fn shield_cancelling_the_awaiter_raises_at_once_and_the_inner_runs_to_the_end() {
    let event_loop = new_loop();
    let inner = worker(&event_loop, 2.0, 0.0, 7);
    let (here, shielded) = (event_loop.clone(), inner.clone());
    let awaiter = create_task(&event_loop, async move {
        let outcome = shield(shielded)?.await;
        Ok((outcome, here.time()))
    })
    .unwrap();
    let target = awaiter.clone();
    let (outcome, ended) = run(&event_loop, async move {
        sleep(1.0, ()).await?;
        target.cancel(None);
        let seen = target.await;
        sleep(2.0, ()).await?;
        Ok(seen)
    });
    let (inside, at) = outcome.unwrap().unwrap();
    assert!(is_cancelled(&inside), "the awaiter sees it");
    assert_eq!(at, 1.0, "at once");
    assert_eq!(inner.result().unwrap(), 7, "the inner ran to its end");
    assert_eq!(ended, 3.0);
}

#[test]
fn shield_cancelling_the_inner_itself_cancels_the_awaiter() {
    let event_loop = new_loop();
    let inner = worker(&event_loop, 2.0, 0.0, 7);
    let shielded = inner.clone();
    let (outcome, _) = run(&event_loop, async move {
        let outer = shield(shielded)?;
        sleep(0.0, ()).await?;
        inner.cancel(None);
        Ok(outer.await)
    });
    assert!(is_cancelled(&outcome.unwrap()));
}

#[test]
fn wait_for_on_time_out_waits_for_the_clean_up_then_says_timeout() {
    let event_loop = new_loop();
    let inner = worker(&event_loop, 10.0, 0.5, 1);
    let waited = inner.clone();
    let (outcome, ended) = run(
        &event_loop,
        async move { Ok(wait_for(waited, Some(1.0)).await) },
    );
    let outcome = outcome.unwrap();
    assert!(
        matches!(&outcome, Err(error) if is_timeout(error)),
        "{outcome:?}"
    );
    assert_eq!(ended, 1.5, "1 s, then 0.5 s of clean-up");
    assert!(inner.cancelled());
}

#[test]
fn wait_for_a_fast_inner_returns_its_value_and_no_stray_timeout_fires() {
    let event_loop = new_loop();
    let (outcome, ended) = run(&event_loop, async {
        let value = wait_for(sleep(1.0, 5), Some(10.0)).await?;
        sleep(20.0, ()).await?; // past the deadline: nothing may fire
        Ok(value)
    });
    assert_eq!(outcome.unwrap(), 5);
    assert_eq!(ended, 21.0);
}

#[test]
fn wait_for_zero_never_starts_a_coroutine_but_takes_a_finished_tasks_value() {
    let event_loop = new_loop();
    let started = Rc::new(Cell::new(false));
    let body = Rc::clone(&started);
    let here = event_loop.clone();
    let (outcome, _) = run(&event_loop, async move {
        let never = wait_for(
            async move {
                body.set(true);
                Ok(1)
            },
            Some(0.0),
        )
        .await;
        let finished = create_task(&here, async { Ok(2) })?;
        sleep(0.0, ()).await?;
        let value = wait_for(finished, Some(0.0)).await;
        let running = worker(&here, 5.0, 0.0, 3);
        sleep(0.0, ()).await?;
        let stopped = wait_for(running.clone(), Some(-1.0)).await;
        Ok((never, value, stopped, running.cancelled()))
    });
    let (never, value, stopped, cancelled) = outcome.unwrap();
    assert!(matches!(&never, Err(error) if is_timeout(error)));
    assert!(!started.get(), "the coroutine never ran");
    assert_eq!(value.unwrap(), 2);
    assert!(matches!(&stopped, Err(error) if is_timeout(error)));
    assert!(cancelled, "a running task is cancelled");
}

#[test]
fn wait_for_an_inner_that_swallows_the_timeout_returns_its_value() {
    let event_loop = new_loop();
    let (outcome, ended) = run(&event_loop, async {
        let inner = async {
            match sleep(10.0, 1).await {
                Err(_) => Ok(99), // refuses
                done => done,
            }
        };
        wait_for(inner, Some(1.0)).await
    });
    assert_eq!(outcome.unwrap(), 99);
    assert_eq!(ended, 1.0);
}

#[test]
fn wait_for_an_inner_that_would_end_exactly_at_the_deadline_times_out() {
    let event_loop = new_loop();
    let (outcome, _) = run(&event_loop, async {
        Ok(wait_for(sleep(1.0, 1), Some(1.0)).await)
    });
    let outcome = outcome.unwrap();
    assert!(
        matches!(&outcome, Err(error) if is_timeout(error)),
        "{outcome:?}"
    );
}

#[test]
fn wait_for_cancelled_from_outside_cancels_the_inner_and_says_cancelled() {
    let event_loop = new_loop();
    let inner = worker(&event_loop, 10.0, 0.5, 1);
    let waited = inner.clone();
    let awaiter = create_task(
        &event_loop,
        async move { wait_for(waited, Some(5.0)).await },
    )
    .unwrap();
    let target = awaiter.clone();
    let (outcome, ended) = run(&event_loop, async move {
        sleep(1.0, ()).await?;
        target.cancel(None);
        Ok(target.await)
    });
    assert!(is_cancelled(&outcome.unwrap()), "not a timeout");
    assert!(inner.cancelled());
    assert_eq!(ended, 1.5, "after the inner's clean-up");
}

#[test]
fn wait_for_with_no_timeout_waits_as_long_as_it_takes_and_nan_is_refused() {
    let event_loop = new_loop();
    let (outcome, ended) = run(&event_loop, async {
        let value = wait_for(sleep(100.0, 1), None).await?;
        let forever = wait_for(sleep(50.0, 2), Some(f64::INFINITY)).await?;
        let nan = wait_for(sleep(1.0, 3), Some(f64::NAN)).await;
        Ok((value, forever, nan))
    });
    let (value, forever, nan) = outcome.unwrap();
    assert_eq!((value, forever), (1, 2));
    assert!(
        matches!(&nan, Err(FutureError::Exception(error)) if error.to_string().contains("NaN")),
        "{nan:?}"
    );
    assert_eq!(ended, 150.0);
}

#[test]
fn a_timeout_scope_in_time_changes_nothing() {
    let event_loop = new_loop();
    let (outcome, _) = run(&event_loop, async {
        let scope = timeout(Some(5.0))?;
        let value = scope
            .run(async {
                sleep(1.0, ()).await?;
                sleep(1.0, 2).await
            })
            .await?;
        Ok((value, scope.expired()))
    });
    assert_eq!(outcome.unwrap(), (2, false));
}

#[test]
fn a_late_block_is_cancelled_and_the_scope_says_timeout_leaving_the_task_not_cancelled() {
    let event_loop = new_loop();
    let here = event_loop.clone();
    let (outcome, _) = run(&event_loop, async move {
        let scope = timeout(Some(1.0))?;
        let ended = scope.run(sleep(10.0, ())).await;
        let me = current_task().expect("in a task");
        sleep(1.0, ()).await?; // the task goes on, not cancelled
        Ok((ended, scope.expired(), me.cancelling(), here.time()))
    });
    let (ended, expired, cancelling, at) = outcome.unwrap();
    assert!(matches!(&ended, Err(error) if is_timeout(error)));
    assert!(expired);
    assert_eq!(cancelling, 0);
    assert_eq!(at, 2.0);
}

#[test]
fn reschedule_moves_the_deadline() {
    let event_loop = new_loop();
    let here = event_loop.clone();
    let (outcome, _) = run(&event_loop, async move {
        let scope = timeout(Some(1.0))?;
        let (inside, now) = (scope.clone(), here.clone());
        let ended = scope
            .run(async move {
                inside.reschedule(Some(now.time() + 3.0))?;
                sleep(2.0, "in time").await
            })
            .await;
        let late = timeout(Some(10.0))?;
        let inside = late.clone();
        let here = here.clone();
        let cut = late
            .run(async move {
                inside.reschedule(Some(here.time() + 1.0))?;
                sleep(2.0, "late").await
            })
            .await;
        Ok((ended, cut, late.expired()))
    });
    let (ended, cut, expired) = outcome.unwrap();
    assert_eq!(ended.unwrap(), "in time");
    assert!(matches!(&cut, Err(error) if is_timeout(error)));
    assert!(expired);
}

#[test]
fn a_block_that_swallows_the_cancellation_ends_normally_and_expired_says_so() {
    let event_loop = new_loop();
    let (outcome, _) = run(&event_loop, async {
        let scope = timeout(Some(1.0))?;
        let value = scope
            .run(async {
                match sleep(10.0, 1).await {
                    Err(_) => Ok(0), // swallowed
                    done => done,
                }
            })
            .await?;
        Ok((value, scope.expired()))
    });
    assert_eq!(outcome.unwrap(), (0, true));
}

#[test]
fn nested_scopes_the_outer_firing_passes_through_the_inner() {
    let event_loop = new_loop();
    let (outcome, _) = run(&event_loop, async {
        let outer = timeout(Some(1.0))?;
        let inner = timeout(Some(5.0))?;
        let inner_seen = inner.clone();
        let ended = outer
            .run(async move {
                let inside = inner_seen.run(sleep(10.0, ())).await;
                // The inner scope did not fire: it passes the cancellation on.
                assert!(matches!(inside, Err(FutureError::Cancelled)));
                inside
            })
            .await;
        Ok((ended, outer.expired(), inner.expired()))
    });
    let (ended, outer, inner) = outcome.unwrap();
    assert!(matches!(&ended, Err(error) if is_timeout(error)));
    assert!(outer && !inner);
}

#[test]
fn a_cancellation_from_outside_passes_through_a_scope_unchanged() {
    let event_loop = new_loop();
    let task = create_task(&event_loop, async {
        let scope = timeout(Some(5.0))?;
        scope.run(sleep(10.0, ())).await
    })
    .unwrap();
    let target = task.clone();
    let (outcome, _) = run(&event_loop, async move {
        sleep(1.0, ()).await?;
        target.cancel(None);
        Ok(target.await)
    });
    assert!(is_cancelled(&outcome.unwrap()));
    assert!(task.cancelled());
}

#[test]
fn a_timeout_and_a_cancellation_from_outside_at_once_end_cancelled() {
    let event_loop = new_loop();
    let task = create_task(&event_loop, async {
        let scope = timeout(Some(1.0))?;
        scope.run(sleep(10.0, ())).await
    })
    .unwrap();
    let target = task.clone();
    let here = event_loop.clone();
    let (outcome, _) = run(&event_loop, async move {
        // Both at 1 s: the scope's timer, then this cancel, before the task
        // runs again: two requests, and the scope takes back only its own.
        here.call_later(1.0, move |_| {
            target.cancel(None);
        })?;
        Ok(task.await)
    });
    assert!(is_cancelled(&outcome.unwrap()), "not a timeout");
}

#[test]
fn a_timer_the_block_sets_for_the_deadline_runs_after_the_scopes() {
    // The scope's timer was set (on the fast path, its place in line
    // taken) as it entered, before the block set its own: due at the same
    // moment, the scope's runs first, and the block's sees it expired (as
    // asyncio's does: `loop.call_later(1.0, ...)` inside `async with
    // timeout(1.0)` sees `expired()` true).
    let event_loop = new_loop();
    let here = event_loop.clone();
    let seen = Rc::new(Cell::new(None));
    let sees = Rc::clone(&seen);
    let (outcome, _) = run(&event_loop, async move {
        let scope = timeout(Some(1.0))?;
        let (inside, setter) = (scope.clone(), here.clone());
        let ended = scope
            .run(async move {
                let looks = move |_: &SelectorEventLoop| sees.set(Some(inside.expired()));
                setter.call_later(1.0, looks)?;
                sleep(5.0, ()).await
            })
            .await;
        Ok((ended, here.time()))
    });
    let (ended, at) = outcome.unwrap();
    assert!(
        matches!(&ended, Err(error) if is_timeout(error)),
        "{ended:?}"
    );
    assert_eq!(at, 1.0);
    assert_eq!(seen.get(), Some(true), "the scope's timer ran first");
}

#[test]
fn a_scope_entered_after_its_deadline_times_out_at_its_first_wait() {
    let event_loop = new_loop();
    let here = event_loop.clone();
    let (outcome, _) = run(&event_loop, async move {
        let scope = timeout(Some(1.0))?;
        sleep(2.0, ()).await?;
        let ended = scope.run(sleep(5.0, ())).await;
        Ok((ended, scope.expired(), here.time()))
    });
    let (ended, expired, at) = outcome.unwrap();
    assert!(
        matches!(&ended, Err(error) if is_timeout(error)),
        "{ended:?}"
    );
    assert!(expired);
    assert_eq!(at, 2.0);
}
