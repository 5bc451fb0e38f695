//! Stage 5 against CPython: cancellation on our stage 5 tasks and on
//! asyncio's, both on a virtual clock (tests/parity/stage05_cancellation.py),
//! section by section, line by line, every line stamped with the loop's
//! time and iteration: who sees a cancellation, when, and how each task
//! ends.

mod common;

use demo_support::Transcript;
use stage03_read_readiness::SelectorEventLoop;
use stage04_futures_tasks::{FutureError, run_until_complete};
use stage05_cancellation::{Task, create_task, current_task, sleep};

use common::compare_section;
use common::stage04::{new_case, py_bool, stamp_iteration};

/// The script our loop is compared with.
const SCRIPT: &str = "stage05_cancellation.py";

#[test]
fn the_script_prints_the_sections_compared_here() {
    common::assert_prints_sections(
        SCRIPT,
        &[
            "cancel_then_await",
            "cancelled_before_its_first_step",
            "outer_inner_awaiter",
            "inner_swallows_outer_carries_on",
            "cancels_itself",
            "cancelling_and_uncancel",
        ],
    );
}

/// How a task ended, in the script's words.
fn ended<T: Clone + std::fmt::Display + 'static>(task: &Task<T>) -> String {
    match task.result() {
        _ if task.cancelled() => "cancelled".to_string(),
        Ok(value) => format!("result {value}"),
        Err(error) => format!("failed: {error}"),
    }
}

/// Run `main` as a stage 5 task to its end, and compare what `out` holds
/// with `section` of the script.
fn run_section<F>(section: &str, event_loop: &SelectorEventLoop, out: &Transcript, main: F)
where
    F: std::future::Future<Output = Result<(), FutureError>> + 'static,
{
    let main = create_task(event_loop, main).unwrap();
    let outcome = run_until_complete(event_loop, main).expect("the case runs to its end");
    outcome.expect("main is not cancelled and does not fail");
    compare_section(SCRIPT, section, &out.lines());
}

#[test]
fn cancel_then_await() {
    let (event_loop, out) = new_case();
    let (here, log) = (event_loop.clone(), out.clone());
    run_section("cancel_then_await", &event_loop, &out, async move {
        let task = create_task(&here, sleep(10.0, ()))?;
        sleep(1.0, ()).await?;
        let cancelled = task.cancel(None);
        stamp_iteration(&log, &here, &format!("cancel: {}", py_bool(cancelled)));
        let (done, gone) = (py_bool(task.done()), py_bool(task.cancelled()));
        stamp_iteration(&log, &here, &format!("done {done}, cancelled {gone}"));
        if let Err(FutureError::Cancelled) = task.clone().await {
            stamp_iteration(&log, &here, "main: the awaiter sees CancelledError");
        }
        let again = py_bool(task.cancel(None));
        let line = format!("task {}; cancel again: {again}", ended_unit(&task));
        stamp_iteration(&log, &here, &line);
        Ok(())
    });
}

/// [`ended`], for a task whose value is `()` (Python's `None`).
fn ended_unit(task: &Task<()>) -> String {
    match task.result() {
        _ if task.cancelled() => "cancelled".to_string(),
        Ok(()) => "result None".to_string(),
        Err(error) => format!("failed: {error}"),
    }
}

#[test]
fn cancelled_before_its_first_step() {
    let (event_loop, out) = new_case();
    let (here, log) = (event_loop.clone(), out.clone());
    run_section(
        "cancelled_before_its_first_step",
        &event_loop,
        &out,
        async move {
            let (body_loop, body_log) = (here.clone(), log.clone());
            let task = create_task(&here, async move {
                stamp_iteration(&body_log, &body_loop, "body runs");
                Ok(())
            })?;
            let cancelled = py_bool(task.cancel(None));
            stamp_iteration(&log, &here, &format!("cancel: {cancelled}"));
            let _ = task.clone().await;
            stamp_iteration(&log, &here, &format!("task {}", ended_unit(&task)));
            Ok(())
        },
    );
}

#[test]
fn outer_inner_awaiter() {
    let (event_loop, out) = new_case();
    let (here, log) = (event_loop.clone(), out.clone());
    run_section("outer_inner_awaiter", &event_loop, &out, async move {
        let (l, o) = (here.clone(), log.clone());
        let inner = create_task(&here, async move {
            let slept = sleep(10.0, ()).await;
            if let Err(cancelled) = slept {
                stamp_iteration(&o, &l, "inner: cancelled; flushes 0.5 s");
                sleep(0.5, ()).await?;
                stamp_iteration(&o, &l, "inner: passes it on");
                return Err(cancelled);
            }
            Ok(())
        })?;
        let (l, o, awaited) = (here.clone(), log.clone(), inner.clone());
        let outer = create_task(&here, async move {
            let outcome = awaited.await;
            if let Err(FutureError::Cancelled) = outcome {
                stamp_iteration(&o, &l, "outer: cancelled");
            }
            outcome
        })?;
        sleep(1.0, ()).await?;
        let cancelled = py_bool(outer.cancel(None));
        stamp_iteration(&log, &here, &format!("main: cancel outer: {cancelled}"));
        if let Err(FutureError::Cancelled) = outer.clone().await {
            stamp_iteration(&log, &here, "main: outer cancelled");
        }
        let line = format!("inner {}, outer {}", ended_unit(&inner), ended_unit(&outer));
        stamp_iteration(&log, &here, &line);
        Ok(())
    });
}

#[test]
fn inner_swallows_outer_carries_on() {
    let (event_loop, out) = new_case();
    let (here, log) = (event_loop.clone(), out.clone());
    run_section(
        "inner_swallows_outer_carries_on",
        &event_loop,
        &out,
        async move {
            let (l, o, spawner) = (here.clone(), log.clone(), here.clone());
            let outer = create_task(&here, async move {
                let (il, io) = (l.clone(), o.clone());
                let inner = create_task(&spawner, async move {
                    match sleep(10.0, 1).await {
                        Ok(value) => Ok(value),
                        Err(_) => {
                            stamp_iteration(&io, &il, "inner: swallows it, returns 42");
                            Ok(42)
                        }
                    }
                })?;
                let value = inner.await?;
                stamp_iteration(&o, &l, &format!("outer: got {value}; sleeps 1 s"));
                sleep(1.0, ()).await?;
                Ok(value + 1)
            })?;
            sleep(1.0, ()).await?;
            outer.cancel(None);
            let value = outer.clone().await?;
            let gone = py_bool(outer.cancelled());
            let line = format!("main: outer returned {value}, cancelled {gone}");
            stamp_iteration(&log, &here, &line);
            Ok(())
        },
    );
}

#[test]
fn cancels_itself() {
    let (event_loop, out) = new_case();
    let (here, log) = (event_loop.clone(), out.clone());
    run_section("cancels_itself", &event_loop, &out, async move {
        let returns = create_task(&here, async {
            current_task().expect("in a task").cancel(None);
            Ok("returned anyway".to_string())
        })?;
        let _ = returns.clone().await;
        stamp_iteration(&log, &here, &format!("task {}", ended(&returns)));
        for delay in [5, 0] {
            let (l, o) = (here.clone(), log.clone());
            let awaits = create_task(&here, async move {
                current_task().expect("in a task").cancel(None);
                let slept = sleep(f64::from(delay), ()).await;
                if slept.is_err() {
                    stamp_iteration(&o, &l, &format!("sleep({delay}) raised CancelledError"));
                }
                slept
            })?;
            let _ = awaits.clone().await;
            stamp_iteration(&log, &here, &format!("task {}", ended_unit(&awaits)));
        }
        Ok(())
    });
}

#[test]
fn cancelling_and_uncancel() {
    let (event_loop, out) = new_case();
    let (here, log) = (event_loop.clone(), out.clone());
    run_section("cancelling_and_uncancel", &event_loop, &out, async move {
        let (l, o) = (here.clone(), log.clone());
        let task = create_task(&here, async move {
            let mut refused = 0;
            // Bounded, so that a cancel that never arrives fails the test.
            for _ in 0..10 {
                if sleep(10.0, ()).await.is_err() {
                    refused += 1;
                    let me = current_task().expect("in a task");
                    let (cancelling, left) = (me.cancelling(), me.uncancel());
                    let line =
                        format!("refused {refused}: cancelling {cancelling}, uncancel -> {left}");
                    stamp_iteration(&o, &l, &line);
                }
                if refused == 2 {
                    break;
                }
            }
            Ok(current_task().expect("in a task").cancelling())
        })?;
        for _ in 0..2 {
            sleep(0.0, ()).await?;
            task.cancel(None);
            let line = format!("main: cancelled; cancelling {}", task.cancelling());
            stamp_iteration(&log, &here, &line);
        }
        let value = task.await?;
        stamp_iteration(&log, &here, &format!("main: task returned {value}"));
        Ok(())
    });
}
