//! Stage 5 against CPython: cancellation on our stage 5 tasks and on
//! asyncio's, both on a virtual clock (tests/parity/stage05_cancellation.py),
//! section by section, line by line, every line stamped with the loop's
//! time and iteration: who sees a cancellation, when, and how each task
//! ends. On stage 5's fast path, whose `wait_for` is 3.12's, the `wait_for`
//! sections are compared with the script run on CPython 3.12 instead.

mod common;

use demo_support::Transcript;
use stage02_timed_events::AbstractEventLoop;
use stage03_read_readiness::SelectorEventLoop;
use stage04_futures_tasks::FutureError;
use stage05_cancellation::{
    Task, Timeout, create_task, current_task, is_timeout, shield, sleep, timeout, wait_for,
};

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
            "shield_cancelling_the_awaiter",
            "shield_cancelling_the_inner",
            "wait_for_times_out_after_the_clean_up",
            "wait_for_in_time",
            "wait_for_zero",
            "wait_for_refused_and_at_the_deadline",
            "wait_for_cancelled_from_outside",
            "timeout_in_time_and_late",
            "timeout_reschedule",
            "timeout_swallowed_and_nested",
            "timeout_cancelled_from_outside",
            "timeout_entered_while_cancelling",
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
/// with `section` of the script (see [`common::run_stage05_section`]).
fn run_section<F>(section: &str, event_loop: &SelectorEventLoop, out: &Transcript, main: F)
where
    F: std::future::Future<Output = Result<(), FutureError>> + 'static,
{
    common::run_stage05_section(SCRIPT, section, event_loop, out, main);
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

/// The line the script prints when it catches `TimeoutError` (and, if we
/// end otherwise, a line that says how, which the script never prints).
fn timeout_line<T: std::fmt::Debug>(what: &str, outcome: &Result<T, FutureError>) -> String {
    match outcome {
        Err(error) if is_timeout(error) => format!("{what}: TimeoutError"),
        other => format!("{what}: not a timeout but {other:?}"),
    }
}

#[test]
fn shield_cancelling_the_awaiter() {
    let (event_loop, out) = new_case();
    let (here, log) = (event_loop.clone(), out.clone());
    run_section(
        "shield_cancelling_the_awaiter",
        &event_loop,
        &out,
        async move {
            let (l, o) = (here.clone(), log.clone());
            let inner = create_task(&here, async move {
                sleep(2.0, ()).await?;
                stamp_iteration(&o, &l, "inner: done, returns 7");
                Ok(7)
            })?;
            let (l, o, shielded) = (here.clone(), log.clone(), inner.clone());
            let awaiter = create_task(&here, async move {
                let outcome = shield(shielded)?.await;
                if let Err(FutureError::Cancelled) = outcome {
                    stamp_iteration(&o, &l, "awaiter: CancelledError");
                }
                outcome
            })?;
            sleep(1.0, ()).await?;
            let cancelled = py_bool(awaiter.cancel(None));
            stamp_iteration(&log, &here, &format!("main: cancel awaiter: {cancelled}"));
            if let Err(FutureError::Cancelled) = awaiter.clone().await {
                stamp_iteration(&log, &here, "main: awaiter cancelled");
            }
            let done = py_bool(inner.done());
            stamp_iteration(&log, &here, &format!("main: inner done {done}"));
            let value = inner.clone().await?;
            stamp_iteration(&log, &here, &format!("main: inner returned {value}"));
            let line = format!("inner {}, awaiter {}", ended(&inner), ended(&awaiter));
            stamp_iteration(&log, &here, &line);
            Ok(())
        },
    );
}

#[test]
fn shield_cancelling_the_inner() {
    let (event_loop, out) = new_case();
    let (here, log) = (event_loop.clone(), out.clone());
    run_section(
        "shield_cancelling_the_inner",
        &event_loop,
        &out,
        async move {
            let (l, o) = (here.clone(), log.clone());
            let inner = create_task(&here, async move {
                let slept = sleep(2.0, 7).await;
                if let Err(FutureError::Cancelled) = slept {
                    stamp_iteration(&o, &l, "inner: cancelled");
                }
                slept
            })?;
            let (l, o, shielded) = (here.clone(), log.clone(), inner.clone());
            let awaiter = create_task(&here, async move {
                let outcome = shield(shielded)?.await;
                if let Err(FutureError::Cancelled) = outcome {
                    stamp_iteration(&o, &l, "awaiter: CancelledError");
                }
                outcome
            })?;
            sleep(1.0, ()).await?;
            let cancelled = py_bool(inner.cancel(None));
            stamp_iteration(&log, &here, &format!("main: cancel inner: {cancelled}"));
            if let Err(FutureError::Cancelled) = awaiter.clone().await {
                stamp_iteration(&log, &here, "main: awaiter cancelled");
            }
            let line = format!("inner {}, awaiter {}", ended(&inner), ended(&awaiter));
            let cancelling = awaiter.cancelling();
            stamp_iteration(
                &log,
                &here,
                &format!("{line}, awaiter cancelling {cancelling}"),
            );
            Ok(())
        },
    );
}

/// The script's `cleans_up`: sleeps `delay` s and returns `value`;
/// cancelled, it cleans up for `clean_up` s and passes the cancellation on.
fn cleans_up(
    event_loop: &SelectorEventLoop,
    out: &Transcript,
    delay: f64,
    clean_up: f64,
    value: u32,
) -> impl std::future::Future<Output = Result<u32, FutureError>> + 'static {
    let (l, o) = (event_loop.clone(), out.clone());
    async move {
        match sleep(delay, value).await {
            Ok(value) => {
                stamp_iteration(&o, &l, &format!("worker: returns {value}"));
                Ok(value)
            }
            Err(cancelled) => {
                let line = format!("worker: cancelled; cleans up {clean_up} s");
                stamp_iteration(&o, &l, &line);
                sleep(clean_up, ()).await?;
                stamp_iteration(&o, &l, "worker: passes it on");
                Err(cancelled)
            }
        }
    }
}

#[test]
fn wait_for_times_out_after_the_clean_up() {
    let (event_loop, out) = new_case();
    let (here, log) = (event_loop.clone(), out.clone());
    run_section(
        "wait_for_times_out_after_the_clean_up",
        &event_loop,
        &out,
        async move {
            let task = create_task(&here, cleans_up(&here, &log, 10.0, 0.5, 1))?;
            let outcome = wait_for(task.clone(), Some(1.0)).await;
            stamp_iteration(&log, &here, &timeout_line("main", &outcome));
            let me = current_task().expect("in a task");
            let line = format!(
                "worker {}; main cancelling {}",
                ended(&task),
                me.cancelling()
            );
            stamp_iteration(&log, &here, &line);
            Ok(())
        },
    );
}

#[test]
fn wait_for_in_time() {
    let (event_loop, out) = new_case();
    let (here, log) = (event_loop.clone(), out.clone());
    run_section("wait_for_in_time", &event_loop, &out, async move {
        let value = wait_for(cleans_up(&here, &log, 1.0, 0.0, 5), Some(10.0)).await?;
        let line = format!("main: got {value}; sleeps past the deadline");
        stamp_iteration(&log, &here, &line);
        sleep(20.0, ()).await?;
        stamp_iteration(&log, &here, "main: nothing fired");
        Ok(())
    });
}

#[test]
fn wait_for_zero() {
    let (event_loop, out) = new_case();
    let (here, log) = (event_loop.clone(), out.clone());
    run_section("wait_for_zero", &event_loop, &out, async move {
        let (l, o) = (here.clone(), log.clone());
        let body = async move {
            stamp_iteration(&o, &l, "body runs");
            Ok(1)
        };
        let never = wait_for(body, Some(0.0)).await;
        stamp_iteration(&log, &here, &timeout_line("main: a coroutine", &never));
        let finished = create_task(&here, async { Ok::<_, FutureError>(2) })?;
        sleep(0.0, ()).await?;
        let value = wait_for(finished, Some(0.0)).await?;
        stamp_iteration(&log, &here, &format!("main: a finished task: {value}"));
        let running = create_task(&here, cleans_up(&here, &log, 5.0, 0.0, 3))?;
        sleep(0.0, ()).await?;
        let stopped = wait_for(running.clone(), Some(-1.0)).await;
        stamp_iteration(&log, &here, &timeout_line("main: a running task", &stopped));
        stamp_iteration(&log, &here, &format!("running {}", ended(&running)));
        Ok(())
    });
}

#[test]
fn wait_for_refused_and_at_the_deadline() {
    let (event_loop, out) = new_case();
    let (here, log) = (event_loop.clone(), out.clone());
    run_section(
        "wait_for_refused_and_at_the_deadline",
        &event_loop,
        &out,
        async move {
            let (l, o) = (here.clone(), log.clone());
            let refuses = async move {
                match sleep(10.0, 1).await {
                    Err(FutureError::Cancelled) => {
                        stamp_iteration(&o, &l, "inner: swallows it, returns 99");
                        Ok(99)
                    }
                    done => done,
                }
            };
            let value = wait_for(refuses, Some(1.0)).await?;
            stamp_iteration(&log, &here, &format!("main: got {value}"));
            // Python's virtual clock moves on by 1 ns at every read, so there
            // the worker's timer, made a step after wait_for's, falls a few
            // ns after the deadline; ours stands still between waits, and
            // would put both timers at the same instant, in one iteration.
            // 1 ns more gives our worker the order it has in Python.
            let at_the_deadline = cleans_up(&here, &log, 1.0 + 1e-9, 0.0, 2);
            let line = match wait_for(at_the_deadline, Some(1.0)).await {
                Ok(value) => format!("main: at the deadline, got {value}"),
                outcome => timeout_line("main: at the deadline", &outcome),
            };
            stamp_iteration(&log, &here, &line);
            Ok(())
        },
    );
}

#[test]
fn wait_for_cancelled_from_outside() {
    let (event_loop, out) = new_case();
    let (here, log) = (event_loop.clone(), out.clone());
    run_section(
        "wait_for_cancelled_from_outside",
        &event_loop,
        &out,
        async move {
            let inner = create_task(&here, cleans_up(&here, &log, 10.0, 0.5, 1))?;
            let (l, o, waited) = (here.clone(), log.clone(), inner.clone());
            let waiter = create_task(&here, async move {
                let outcome = wait_for(waited, Some(5.0)).await;
                if let Err(FutureError::Cancelled) = outcome {
                    stamp_iteration(&o, &l, "waiter: CancelledError");
                }
                outcome
            })?;
            sleep(1.0, ()).await?;
            let cancelled = py_bool(waiter.cancel(None));
            stamp_iteration(&log, &here, &format!("main: cancel waiter: {cancelled}"));
            if let Err(FutureError::Cancelled) = waiter.clone().await {
                stamp_iteration(&log, &here, "main: waiter cancelled");
            }
            let line = format!("inner {}, waiter {}", ended(&inner), ended(&waiter));
            stamp_iteration(&log, &here, &line);
            sleep(10.0, ()).await?;
            stamp_iteration(&log, &here, "main: nothing fired");
            Ok(())
        },
    );
}

#[test]
fn timeout_in_time_and_late() {
    let (event_loop, out) = new_case();
    let (here, log) = (event_loop.clone(), out.clone());
    run_section("timeout_in_time_and_late", &event_loop, &out, async move {
        let me = current_task().expect("in a task");
        let scope = timeout(Some(5.0))?;
        let (l, o) = (here.clone(), log.clone());
        scope
            .run(async move {
                sleep(1.0, ()).await?;
                stamp_iteration(&o, &l, "block: slept 1 s");
                sleep(1.0, ()).await
            })
            .await?;
        let (expired, cancelling) = (py_bool(scope.expired()), me.cancelling());
        let line = format!("in time: expired {expired}, cancelling {cancelling}");
        stamp_iteration(&log, &here, &line);
        let late = timeout(Some(1.0))?;
        let (l, o) = (here.clone(), log.clone());
        let outcome = late
            .run(async move {
                sleep(10.0, ()).await?;
                stamp_iteration(&o, &l, "late: never printed");
                Ok(())
            })
            .await;
        stamp_iteration(&log, &here, &timeout_line("late", &outcome));
        let (expired, cancelling) = (py_bool(late.expired()), me.cancelling());
        let line = format!("late: expired {expired}, cancelling {cancelling}");
        stamp_iteration(&log, &here, &line);
        sleep(5.0, ()).await?;
        stamp_iteration(&log, &here, "main: slept on, not cancelled");
        Ok(())
    });
}

#[test]
fn timeout_reschedule() {
    let (event_loop, out) = new_case();
    let (here, log) = (event_loop.clone(), out.clone());
    run_section("timeout_reschedule", &event_loop, &out, async move {
        let scope = timeout(Some(1.0))?;
        let (l, o, inside) = (here.clone(), log.clone(), scope.clone());
        scope
            .run(async move {
                inside.reschedule(Some(l.time() + 3.0))?;
                let when = inside.when().expect("a deadline");
                stamp_iteration(&o, &l, &format!("block: deadline moved to {when:.3}"));
                sleep(2.0, ()).await?;
                stamp_iteration(&o, &l, "block: slept 2 s, in time");
                Ok(())
            })
            .await?;
        let expired = py_bool(scope.expired());
        stamp_iteration(&log, &here, &format!("later: expired {expired}"));

        let late = timeout(Some(10.0))?;
        let (l, inside) = (here.clone(), late.clone());
        let outcome = late
            .run(async move {
                inside.reschedule(Some(l.time() + 1.0))?;
                sleep(2.0, ()).await
            })
            .await;
        stamp_iteration(&log, &here, &timeout_line("sooner", &outcome));
        let expired = py_bool(late.expired());
        stamp_iteration(&log, &here, &format!("sooner: expired {expired}"));

        let never = timeout(Some(1.0))?;
        let inside = never.clone();
        never
            .run(async move {
                inside.reschedule(None)?;
                sleep(2.0, ()).await
            })
            .await?;
        let expired = py_bool(never.expired());
        stamp_iteration(&log, &here, &format!("no deadline: expired {expired}"));

        let past = timeout(Some(10.0))?;
        let (l, inside) = (here.clone(), past.clone());
        let outcome = past
            .run(async move {
                inside.reschedule(Some(l.time() - 1.0))?;
                sleep(1.0, ()).await
            })
            .await;
        stamp_iteration(&log, &here, &timeout_line("past", &outcome));
        let expired = py_bool(past.expired());
        stamp_iteration(&log, &here, &format!("past: expired {expired}"));
        Ok(())
    });
}

#[test]
fn timeout_swallowed_and_nested() {
    let (event_loop, out) = new_case();
    let (here, log) = (event_loop.clone(), out.clone());
    run_section(
        "timeout_swallowed_and_nested",
        &event_loop,
        &out,
        async move {
            let me = current_task().expect("in a task");
            let scope = timeout(Some(1.0))?;
            let (l, o) = (here.clone(), log.clone());
            scope
                .run(async move {
                    if let Err(FutureError::Cancelled) = sleep(10.0, ()).await {
                        stamp_iteration(&o, &l, "block: swallows the cancellation");
                    }
                    Ok(())
                })
                .await?;
            let (expired, cancelling) = (py_bool(scope.expired()), me.cancelling());
            let line = format!("swallowed: expired {expired}, cancelling {cancelling}");
            stamp_iteration(&log, &here, &line);

            let (outer, inner) = (timeout(Some(1.0))?, timeout(Some(5.0))?);
            let (l, o, inside) = (here.clone(), log.clone(), inner.clone());
            let outcome = outer
                .run(async move {
                    let passed = inside.run(sleep(10.0, ())).await;
                    if let Err(FutureError::Cancelled) = passed {
                        stamp_iteration(&o, &l, "inner scope: passes CancelledError on");
                    }
                    passed
                })
                .await;
            stamp_iteration(&log, &here, &timeout_line("outer scope", &outcome));
            let scopes = scopes_line(&outer, &inner);
            let line = format!("{scopes}, cancelling {}", me.cancelling());
            stamp_iteration(&log, &here, &line);

            let (outer, inner) = (timeout(Some(5.0))?, timeout(Some(1.0))?);
            let (l, o, inside) = (here.clone(), log.clone(), inner.clone());
            outer
                .run(async move {
                    match inside.run(sleep(10.0, ())).await {
                        Err(error) if is_timeout(&error) => {
                            let line = "inner scope: TimeoutError, caught in the outer";
                            stamp_iteration(&o, &l, line);
                            Ok(())
                        }
                        other => other,
                    }
                })
                .await?;
            let scopes = scopes_line(&outer, &inner);
            let line = format!("{scopes}, cancelling {}", me.cancelling());
            stamp_iteration(&log, &here, &line);
            Ok(())
        },
    );
}

/// Whether each of two nested scopes expired, in the script's words.
fn scopes_line(outer: &Timeout, inner: &Timeout) -> String {
    let (outer, inner) = (py_bool(outer.expired()), py_bool(inner.expired()));
    format!("outer expired {outer}, inner expired {inner}")
}

/// The script's `guarded`: sleeps 10 s inside `scope`, and says so when a
/// cancellation comes out of the scope.
fn guarded(
    event_loop: &SelectorEventLoop,
    out: &Transcript,
    scope: Timeout,
) -> impl std::future::Future<Output = Result<(), FutureError>> + 'static {
    let (l, o) = (event_loop.clone(), out.clone());
    async move {
        let outcome = scope.run(sleep(10.0, ())).await;
        if let Err(FutureError::Cancelled) = outcome {
            let expired = py_bool(scope.expired());
            let line = format!("guarded: CancelledError; expired {expired}");
            stamp_iteration(&o, &l, &line);
        }
        outcome
    }
}

#[test]
fn timeout_cancelled_from_outside() {
    let (event_loop, out) = new_case();
    let (here, log) = (event_loop.clone(), out.clone());
    run_section(
        "timeout_cancelled_from_outside",
        &event_loop,
        &out,
        async move {
            let task = create_task(&here, guarded(&here, &log, timeout(Some(5.0))?))?;
            sleep(1.0, ()).await?;
            let cancelled = py_bool(task.cancel(None));
            stamp_iteration(&log, &here, &format!("main: cancel: {cancelled}"));
            if let Err(FutureError::Cancelled) = task.clone().await {
                stamp_iteration(&log, &here, "main: task cancelled");
            }
            stamp_iteration(&log, &here, &format!("task {}", ended_unit(&task)));
            // The scope's timer, then a cancel from outside, in one iteration:
            // two requests, and the scope takes back only its own.
            let scope = timeout(Some(1.0))?;
            let task = create_task(&here, guarded(&here, &log, scope.clone()))?;
            sleep(0.0, ()).await?;
            let target = task.clone();
            here.call_at(scope.when().expect("a deadline"), move |_| {
                target.cancel(None);
            })?;
            if let Err(FutureError::Cancelled) = task.clone().await {
                stamp_iteration(&log, &here, "main: task cancelled");
            }
            stamp_iteration(&log, &here, &format!("task {}", ended_unit(&task)));
            Ok(())
        },
    );
}

/// asyncio 3.11.7's `Timeout` records `cancelling()` on entry (gh-102780):
/// a cancellation refused before the scope began is not the scope's
/// business, and the scope still says `TimeoutError`.
#[test]
fn timeout_entered_while_cancelling() {
    let (event_loop, out) = new_case();
    let (here, log) = (event_loop.clone(), out.clone());
    run_section(
        "timeout_entered_while_cancelling",
        &event_loop,
        &out,
        async move {
            let me = current_task().expect("in a task");
            me.cancel(None);
            if let Err(FutureError::Cancelled) = sleep(0.0, ()).await {
                let line = format!(
                    "main: refuses a cancellation; cancelling {}",
                    me.cancelling()
                );
                stamp_iteration(&log, &here, &line);
            }
            let scope = timeout(Some(1.0))?;
            let line = match scope.run(sleep(10.0, ())).await {
                Err(FutureError::Cancelled) => "main: CancelledError".to_string(),
                outcome => timeout_line("main", &outcome),
            };
            stamp_iteration(&log, &here, &line);
            let (expired, cancelling) = (py_bool(scope.expired()), me.cancelling());
            let line = format!("main: expired {expired}, cancelling {cancelling}");
            stamp_iteration(&log, &here, &line);
            Ok(())
        },
    );
}
