//! Stage 5 against CPython, locks and odd input: stage 4's `Lock`,
//! `Condition` and `Queue` with a holder or a waiter cancelled, and
//! cancellation given odd input (a task done already, two cancels, a
//! negative or infinite timeout, a shield of a task done already, no
//! timeout at all), on our stage 5 tasks and on asyncio's, both on a
//! virtual clock (tests/parity/stage05_sync.py), section by section, line
//! by line, every line stamped with the loop's time and iteration. A
//! primitive's `repr` is cut down to its state in brackets, which ours
//! prints in the same words.
//!
//! Left out on purpose, each checked for what ours does by
//! crates/05-cancellation/tests/odd_input.rs:
//!
//! - a timeout of NaN, for `wait_for` and for `timeout`: asyncio 3.11 has
//!   no check for NaN, so its timer, at NaN, runs in the next iteration
//!   (a NaN compares false with the loop's `end_time`): `wait_for` lets the
//!   coroutine's first step run and then raises `TimeoutError`, and
//!   `timeout` cancels the block at its first await. Ours refuses NaN at
//!   once with a typed error (`LoopError::NotANumber` as the exception),
//!   and never starts the coroutine or the block: no line of it would be
//!   the same.
//! - the message of a cancel: asyncio's `CancelledError` carries it to the
//!   coroutine and to the awaiter; ours (`Err(Cancelled)`) carries none,
//!   and keeps the last message of a cancel not passed on in
//!   `cancel_message`, which asyncio 3.11 forgets once the task ends. The
//!   sections of two cancels compare everything else.
//!
//! On stage 5's fast path, whose `wait_for` is asyncio 3.12's (a timeout
//! scope around an inline await), the `wait_for` sections are compared
//! with the script run on CPython 3.12, which awaits an infinite timeout's
//! coroutine in the caller's task; it prints the same as 3.11 elsewhere.

mod common;

use std::cell::Cell;
use std::error::Error;
use std::fmt;
use std::rc::Rc;

use demo_support::Transcript;
use stage03_read_readiness::SelectorEventLoop;
use stage04_futures_tasks::{Condition, FutureError, Lock, Queue};
use stage05_cancellation::{
    Task, create_task, current_task, is_timeout, shield, sleep, timeout, wait_for,
};

use common::stage04::{new_case, py_bool, stamp_iteration};
use common::{ended, state};

/// The script our loop is compared with.
const SCRIPT: &str = "stage05_sync.py";

#[test]
fn the_script_prints_the_sections_compared_here() {
    common::assert_prints_sections(
        SCRIPT,
        &[
            "lock_holder_cancelled_releases_it_to_the_next_waiter",
            "lock_waiter_cancelled_leaves_the_queue",
            "lock_waiter_woken_then_cancelled_passes_it_on",
            "condition_wait_cancelled_retakes_its_lock",
            "queue_get_cancelled_loses_no_item",
            "queue_get_woken_then_cancelled_loses_no_item",
            "cancel_a_finished_task",
            "two_cancels_before_the_first_step",
            "two_cancels_at_a_sleep_arrive_once",
            "second_cancel_during_the_clean_up",
            "wait_for_negative_and_infinite_timeouts",
            "timeout_negative_and_infinite",
            "shield_of_a_finished_task",
            "wait_for_no_timeout_a_task",
            "wait_for_no_timeout_a_coroutine",
        ],
    );
}

/// Run `main` as a stage 5 task to its end, and compare what `out` holds
/// with `section` of the script.
fn run_section<F>(section: &str, event_loop: &SelectorEventLoop, out: &Transcript, main: F)
where
    F: std::future::Future<Output = Result<(), FutureError>> + 'static,
{
    common::run_stage05_section(SCRIPT, section, event_loop, out, main);
}

/// The exception a coroutine of the script fails with: Python's
/// `ValueError("boom")`, with the same message.
#[derive(Debug)]
struct Boom;

impl fmt::Display for Boom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "boom")
    }
}

impl Error for Boom {}

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
        if let Err(cancelled) = sleep(delay, ()).await {
            let line = format!("worker: cancelled; cleans up {clean_up} s");
            stamp_iteration(&o, &l, &line);
            sleep(clean_up, ()).await?;
            stamp_iteration(&o, &l, "worker: passes it on");
            return Err(cancelled);
        }
        stamp_iteration(&o, &l, &format!("worker: returns {value}"));
        Ok(value)
    }
}

/// The script's `lock_user`: after a yield, ask for `lock` and hold it
/// `hold` s; cancelled while asking, say so.
fn lock_user(
    event_loop: &SelectorEventLoop,
    out: &Transcript,
    lock: &Lock,
    name: &'static str,
    hold: f64,
) -> Task<()> {
    let (l, o, lock) = (event_loop.clone(), out.clone(), lock.clone());
    let user = async move {
        sleep(0.0, ()).await?;
        stamp_iteration(&o, &l, &format!("{name}: acquire {}", state(&lock)));
        let guard = match lock.acquire().await {
            Ok(guard) => guard,
            Err(error) => {
                let line = format!("{name}: cancelled {}", state(&lock));
                stamp_iteration(&o, &l, &line);
                return Err(error);
            }
        };
        stamp_iteration(&o, &l, &format!("{name}: holds it"));
        sleep(hold, ()).await?;
        stamp_iteration(&o, &l, &format!("{name}: release"));
        drop(guard);
        Ok(())
    };
    create_task(event_loop, user).expect("an open loop")
}

/// The script's `reap`: await each of `tasks`, whatever it ends with.
async fn reap<T: Clone + 'static>(tasks: &[Task<T>]) {
    for task in tasks {
        let _ended = task.clone().await;
    }
}

/// How each of `tasks` ended, as the script joins them.
fn endings<T: Clone + common::PyStr + 'static>(tasks: &[Task<T>]) -> String {
    tasks.iter().map(ended).collect::<Vec<_>>().join(", ")
}

/// A task cancelled while it holds a lock releases it as the cancellation
/// leaves it (our guard is dropped, asyncio's `async with` exits), and the
/// waiter gets it in the next iteration.
#[test]
fn lock_holder_cancelled_releases_it_to_the_next_waiter() {
    let (event_loop, out) = new_case();
    let (here, log) = (event_loop.clone(), out.clone());
    run_section(
        "lock_holder_cancelled_releases_it_to_the_next_waiter",
        &event_loop,
        &out,
        async move {
            let lock = Lock::new();
            let (l, o, held) = (here.clone(), log.clone(), lock.clone());
            let holder = create_task(&here, async move {
                let _guard = held.acquire().await?;
                stamp_iteration(&o, &l, "holder: holds it");
                let slept = sleep(10.0, ()).await;
                if slept.is_err() {
                    stamp_iteration(&o, &l, &format!("holder: cancelled {}", state(&held)));
                }
                slept
            })?;
            let waiter = lock_user(&here, &log, &lock, "waiter", 0.5);
            sleep(1.0, ()).await?;
            let cancelled = py_bool(holder.cancel(None));
            let line = format!("main: cancel holder: {cancelled} {}", state(&lock));
            stamp_iteration(&log, &here, &line);
            reap(&[holder.clone(), waiter.clone()]).await;
            let (holder, waiter) = (ended(&holder), ended(&waiter));
            let line = format!("holder {holder}, waiter {waiter}; {}", state(&lock));
            stamp_iteration(&log, &here, &line);
            Ok(())
        },
    );
}

/// A task cancelled while it waits for a lock leaves the queue; the next
/// waiter gets the lock when its holder releases it.
#[test]
fn lock_waiter_cancelled_leaves_the_queue() {
    let (event_loop, out) = new_case();
    let (here, log) = (event_loop.clone(), out.clone());
    run_section(
        "lock_waiter_cancelled_leaves_the_queue",
        &event_loop,
        &out,
        async move {
            let lock = Lock::new();
            let tasks: Vec<Task<()>> = [("a", 2.0), ("b", 0.5), ("c", 0.5)]
                .into_iter()
                .map(|(name, hold)| lock_user(&here, &log, &lock, name, hold))
                .collect();
            sleep(1.0, ()).await?;
            let cancelled = py_bool(tasks[1].cancel(None));
            let line = format!("main: cancel b: {cancelled} {}", state(&lock));
            stamp_iteration(&log, &here, &line);
            sleep(0.0, ()).await?;
            stamp_iteration(&log, &here, &format!("main: {}", state(&lock)));
            reap(&tasks).await;
            let line = format!("a, b, c: {}; {}", endings(&tasks), state(&lock));
            stamp_iteration(&log, &here, &line);
            Ok(())
        },
    );
}

/// A waiter that the release woke, cancelled before it runs, passes the
/// lock on to the next waiter.
#[test]
fn lock_waiter_woken_then_cancelled_passes_it_on() {
    let (event_loop, out) = new_case();
    let (here, log) = (event_loop.clone(), out.clone());
    run_section(
        "lock_waiter_woken_then_cancelled_passes_it_on",
        &event_loop,
        &out,
        async move {
            let lock = Lock::new();
            let guard = lock.acquire().await?;
            let tasks: Vec<Task<()>> = ["b", "c"]
                .into_iter()
                .map(|name| lock_user(&here, &log, &lock, name, 0.5))
                .collect();
            sleep(1.0, ()).await?;
            drop(guard);
            let released = state(&lock);
            let cancelled = py_bool(tasks[0].cancel(None));
            let line = format!("main: released {released}; cancel b: {cancelled}");
            stamp_iteration(&log, &here, &line);
            reap(&tasks).await;
            let line = format!("b, c: {}; {}", endings(&tasks), state(&lock));
            stamp_iteration(&log, &here, &line);
            Ok(())
        },
    );
}

/// A condition's wait, cancelled (twice: once waiting to be notified, once
/// waiting to retake the lock), retakes the lock before the cancellation
/// leaves it, however long that takes.
#[test]
fn condition_wait_cancelled_retakes_its_lock() {
    let (event_loop, out) = new_case();
    let (here, log) = (event_loop.clone(), out.clone());
    run_section(
        "condition_wait_cancelled_retakes_its_lock",
        &event_loop,
        &out,
        async move {
            let lock = Lock::new();
            let condition = Condition::with_lock(lock.clone());
            let (l, o, waits_on, seen) =
                (here.clone(), log.clone(), condition.clone(), lock.clone());
            let w = create_task(&here, async move {
                let _guard = waits_on.acquire().await?;
                stamp_iteration(&o, &l, "w: waits");
                let waited = waits_on.wait().await;
                if let Err(FutureError::Cancelled) = waited {
                    let line = format!("w: CancelledError, lock {}", state(&seen));
                    stamp_iteration(&o, &l, &line);
                }
                waited
            })?;
            sleep(1.0, ()).await?;
            let guard = condition.acquire().await?;
            let cancelled = py_bool(w.cancel(None));
            let line = format!("main: holds the lock; cancel w: {cancelled}");
            stamp_iteration(&log, &here, &line);
            sleep(0.2, ()).await?;
            let line = format!("lock {}, condition {}", state(&lock), state(&condition));
            let again = py_bool(w.cancel(None));
            stamp_iteration(
                &log,
                &here,
                &format!("main: {line}; cancel w again: {again}"),
            );
            sleep(0.3, ()).await?;
            stamp_iteration(&log, &here, "main: releases the lock");
            drop(guard);
            if let Err(FutureError::Cancelled) = w.clone().await {
                stamp_iteration(&log, &here, "main: w cancelled");
            }
            let line = format!(
                "w {}, cancelling {}; lock {}",
                ended(&w),
                w.cancelling(),
                state(&lock)
            );
            stamp_iteration(&log, &here, &line);
            Ok(())
        },
    );
}

/// The script's `getter`: get one item from `queue`, and say so, or that
/// it was cancelled.
fn getter(
    event_loop: &SelectorEventLoop,
    out: &Transcript,
    queue: &Queue<&'static str>,
    name: &'static str,
) -> Task<&'static str> {
    let (l, o, queue) = (event_loop.clone(), out.clone(), queue.clone());
    let gets = async move {
        stamp_iteration(&o, &l, &format!("{name}: get"));
        match queue.get().await {
            Ok(item) => {
                stamp_iteration(&o, &l, &format!("{name}: got {item}"));
                Ok(item)
            }
            Err(error) => {
                let line = format!("{name}: cancelled; qsize {}", queue.qsize());
                stamp_iteration(&o, &l, &line);
                Err(error)
            }
        }
    };
    create_task(event_loop, gets).expect("an open loop")
}

/// A getter cancelled while the queue is empty leaves; the item put later
/// goes to the other getter.
#[test]
fn queue_get_cancelled_loses_no_item() {
    let (event_loop, out) = new_case();
    let (here, log) = (event_loop.clone(), out.clone());
    run_section(
        "queue_get_cancelled_loses_no_item",
        &event_loop,
        &out,
        async move {
            let queue = Queue::new(0);
            let tasks = [
                getter(&here, &log, &queue, "g1"),
                getter(&here, &log, &queue, "g2"),
            ];
            sleep(1.0, ()).await?;
            let cancelled = py_bool(tasks[0].cancel(None));
            stamp_iteration(&log, &here, &format!("main: cancel g1: {cancelled}"));
            sleep(1.0, ()).await?;
            assert!(queue.put_nowait("x").is_ok(), "an unbounded queue");
            let line = format!("main: put x; qsize {}", queue.qsize());
            stamp_iteration(&log, &here, &line);
            reap(&tasks).await;
            let line = format!("g1, g2: {}; qsize {}", endings(&tasks), queue.qsize());
            stamp_iteration(&log, &here, &line);
            Ok(())
        },
    );
}

/// A getter that the put woke, cancelled before it runs, leaves the item
/// in the queue and wakes the next getter, which takes it.
#[test]
fn queue_get_woken_then_cancelled_loses_no_item() {
    let (event_loop, out) = new_case();
    let (here, log) = (event_loop.clone(), out.clone());
    run_section(
        "queue_get_woken_then_cancelled_loses_no_item",
        &event_loop,
        &out,
        async move {
            let queue = Queue::new(0);
            let tasks = [
                getter(&here, &log, &queue, "g1"),
                getter(&here, &log, &queue, "g2"),
            ];
            sleep(1.0, ()).await?;
            assert!(queue.put_nowait("x").is_ok(), "an unbounded queue");
            let cancelled = py_bool(tasks[0].cancel(None));
            let line = format!("main: put x; cancel g1: {cancelled}");
            stamp_iteration(&log, &here, &line);
            reap(&tasks).await;
            let line = format!("g1, g2: {}; qsize {}", endings(&tasks), queue.qsize());
            stamp_iteration(&log, &here, &line);
            Ok(())
        },
    );
}

/// The script's line for a task asked to cancel once it is done: it
/// refuses, and stays as it ended.
fn cancelled_when_done<T: Clone + common::PyStr + 'static>(name: &str, task: &Task<T>) -> String {
    let done = py_bool(task.done());
    let cancel = py_bool(task.cancel(None));
    let line = format!("{name}: done {done}; cancel: {cancel}");
    format!("{line}; {}, cancelling {}", ended(task), task.cancelling())
}

/// A task that returned, failed or was cancelled refuses a cancel, which
/// changes nothing, not even its count of cancels.
#[test]
fn cancel_a_finished_task() {
    let (event_loop, out) = new_case();
    let (here, log) = (event_loop.clone(), out.clone());
    run_section("cancel_a_finished_task", &event_loop, &out, async move {
        let returned = create_task(&here, async { Ok::<u32, FutureError>(7) })?;
        let failed = create_task(&here, async {
            Err::<u32, _>(FutureError::Exception(Rc::new(Boom)))
        })?;
        let cancelled = create_task(&here, sleep(10.0, ()))?;
        sleep(0.0, ()).await?;
        let sleeper = py_bool(cancelled.cancel(None));
        stamp_iteration(&log, &here, &format!("main: cancel the sleeper: {sleeper}"));
        sleep(0.0, ()).await?;
        stamp_iteration(&log, &here, &cancelled_when_done("returned", &returned));
        stamp_iteration(&log, &here, &cancelled_when_done("failed", &failed));
        stamp_iteration(&log, &here, &cancelled_when_done("cancelled", &cancelled));
        Ok(())
    });
}

/// Two cancels before the task's first step: both count, and its body
/// never runs.
#[test]
fn two_cancels_before_the_first_step() {
    let (event_loop, out) = new_case();
    let (here, log) = (event_loop.clone(), out.clone());
    run_section(
        "two_cancels_before_the_first_step",
        &event_loop,
        &out,
        async move {
            let (l, o) = (here.clone(), log.clone());
            let task = create_task(&here, async move {
                stamp_iteration(&o, &l, "body runs");
                sleep(1.0, ()).await
            })?;
            let first = py_bool(task.cancel(Some("first")));
            let second = py_bool(task.cancel(Some("second")));
            let line = format!("cancel('first'): {first}, cancel('second'): {second}");
            let cancelling = task.cancelling();
            stamp_iteration(
                &log,
                &here,
                &format!("main: {line}, cancelling {cancelling}"),
            );
            if let Err(FutureError::Cancelled) = task.clone().await {
                stamp_iteration(&log, &here, "main: CancelledError");
            }
            let line = format!("task {}, cancelling {}", ended(&task), task.cancelling());
            stamp_iteration(&log, &here, &line);
            Ok(())
        },
    );
}

/// Two cancels of a task asleep: the first goes to the sleep's future, the
/// second is kept for the task's next step, which the first's delivery
/// takes instead: the coroutine sees one cancellation, and its clean-up
/// runs to its end.
#[test]
fn two_cancels_at_a_sleep_arrive_once() {
    let (event_loop, out) = new_case();
    let (here, log) = (event_loop.clone(), out.clone());
    run_section(
        "two_cancels_at_a_sleep_arrive_once",
        &event_loop,
        &out,
        async move {
            let task = create_task(&here, cleans_up(&here, &log, 10.0, 0.5, 1))?;
            sleep(1.0, ()).await?;
            let first = py_bool(task.cancel(Some("first")));
            let second = py_bool(task.cancel(Some("second")));
            let line = format!("cancel('first'): {first}, cancel('second'): {second}");
            let cancelling = task.cancelling();
            stamp_iteration(
                &log,
                &here,
                &format!("main: {line}, cancelling {cancelling}"),
            );
            if let Err(FutureError::Cancelled) = task.clone().await {
                stamp_iteration(&log, &here, "main: CancelledError");
            }
            let line = format!("task {}, cancelling {}", ended(&task), task.cancelling());
            stamp_iteration(&log, &here, &line);
            Ok(())
        },
    );
}

/// A second cancel while the first one's clean-up awaits lands at that
/// await, and cuts the clean-up short.
#[test]
fn second_cancel_during_the_clean_up() {
    let (event_loop, out) = new_case();
    let (here, log) = (event_loop.clone(), out.clone());
    run_section(
        "second_cancel_during_the_clean_up",
        &event_loop,
        &out,
        async move {
            let task = create_task(&here, cleans_up(&here, &log, 10.0, 0.5, 1))?;
            sleep(1.0, ()).await?;
            let cancelled = py_bool(task.cancel(None));
            stamp_iteration(&log, &here, &format!("main: cancel: {cancelled}"));
            sleep(0.2, ()).await?;
            let done = py_bool(task.done());
            let again = py_bool(task.cancel(None));
            let line = format!("main: done {done}; cancel again: {again}");
            stamp_iteration(&log, &here, &line);
            if let Err(FutureError::Cancelled) = task.clone().await {
                stamp_iteration(&log, &here, "main: CancelledError");
            }
            let line = format!("task {}, cancelling {}", ended(&task), task.cancelling());
            stamp_iteration(&log, &here, &line);
            Ok(())
        },
    );
}

/// `wait_for` with a timeout below zero times a coroutine out before it
/// starts (a task done already gives its value); with an infinite one it
/// waits as long as it takes.
#[test]
fn wait_for_negative_and_infinite_timeouts() {
    let (event_loop, out) = new_case();
    let (here, log) = (event_loop.clone(), out.clone());
    run_section(
        "wait_for_negative_and_infinite_timeouts",
        &event_loop,
        &out,
        async move {
            let (l, o) = (here.clone(), log.clone());
            let body = async move {
                stamp_iteration(&o, &l, "body runs");
                sleep(0.3, 7).await
            };
            let line = match wait_for(body, Some(-1.0)).await {
                Ok(_) => "main: wait_for(body(), -1) returned".to_string(),
                Err(error) if is_timeout(&error) => {
                    "main: wait_for(body(), -1): TimeoutError".to_string()
                }
                Err(error) => format!("main: wait_for(body(), -1): {error:?}"),
            };
            stamp_iteration(&log, &here, &line);
            let done = create_task(&here, async { Ok::<u32, FutureError>(8) })?;
            sleep(0.0, ()).await?;
            let value = wait_for(done, Some(-1.0)).await?;
            let line = format!("main: wait_for(a finished task, -1): {value}");
            stamp_iteration(&log, &here, &line);
            let worker = cleans_up(&here, &log, 300.0, 0.0, 9);
            let value = wait_for(worker, Some(f64::INFINITY)).await?;
            stamp_iteration(
                &log,
                &here,
                &format!("main: wait_for(worker, inf): {value}"),
            );
            Ok(())
        },
    );
}

/// A `timeout` scope below zero expires at the first await of its block,
/// and takes its cancellation back; an infinite one never expires.
#[test]
fn timeout_negative_and_infinite() {
    let (event_loop, out) = new_case();
    let (here, log) = (event_loop.clone(), out.clone());
    run_section(
        "timeout_negative_and_infinite",
        &event_loop,
        &out,
        async move {
            let me = current_task().expect("in a task");
            let scope = timeout(Some(-1.0))?;
            let (l, o) = (here.clone(), log.clone());
            let ran = scope
                .run(async move {
                    stamp_iteration(&o, &l, "block: before its first await");
                    sleep(0.3, ()).await?;
                    stamp_iteration(&o, &l, "block: after it");
                    Ok(())
                })
                .await;
            if let Err(error) = ran {
                let line = if is_timeout(&error) {
                    "main: timeout(-1): TimeoutError".to_string()
                } else {
                    format!("main: timeout(-1): {error:?}")
                };
                stamp_iteration(&log, &here, &line);
            }
            let when = scope.when().expect("a deadline");
            let line = format!("expired {}, when {when:.3}", py_bool(scope.expired()));
            let cancelling = me.cancelling();
            stamp_iteration(
                &log,
                &here,
                &format!("main: {line}, cancelling {cancelling}"),
            );
            let scope = timeout(Some(f64::INFINITY))?;
            let value = scope.run(cleans_up(&here, &log, 300.0, 0.0, 9)).await?;
            let when = scope.when().expect("a deadline");
            let expired = py_bool(scope.expired());
            let line = format!("got {value}; expired {expired}, when {when:.3}");
            stamp_iteration(&log, &here, &format!("main: timeout(inf): {line}"));
            Ok(())
        },
    );
}

/// A shield of a task done already is done as it is made, and awaiting it
/// gives the task's outcome (value, exception or cancellation) without
/// yielding to the loop: the witness runs only at the next yield.
#[test]
fn shield_of_a_finished_task() {
    let (event_loop, out) = new_case();
    let (here, log) = (event_loop.clone(), out.clone());
    run_section("shield_of_a_finished_task", &event_loop, &out, async move {
        let me = current_task().expect("in a task");
        let returned = create_task(&here, async { Ok::<u32, FutureError>(7) })?;
        let failed = create_task(&here, async {
            Err::<u32, _>(FutureError::Exception(Rc::new(Boom)))
        })?;
        let cancelled = create_task(&here, sleep(10.0, 0))?;
        sleep(0.0, ()).await?;
        cancelled.cancel(None);
        sleep(0.0, ()).await?;
        let witnessed = Rc::new(Cell::new(false));
        let witness = Rc::clone(&witnessed);
        create_task(&here, async move {
            witness.set(true);
            Ok(())
        })?;
        let ran = || py_bool(witnessed.get());
        let outer = shield(returned)?;
        let done = py_bool(outer.done());
        let line = format!("main: shield(returned) done at once: {done}");
        stamp_iteration(&log, &here, &line);
        let value = outer.await?;
        let line = format!("main: got {value}; witness ran {}", ran());
        stamp_iteration(&log, &here, &line);
        if let Err(FutureError::Exception(error)) = shield(failed)?.await {
            let line = format!("main: shield(failed) raised {error}; witness ran {}", ran());
            stamp_iteration(&log, &here, &line);
        }
        if let Err(FutureError::Cancelled) = shield(cancelled)?.await {
            let cancelling = me.cancelling();
            let line = format!("witness ran {}, main cancelling {cancelling}", ran());
            let line = format!("main: shield(cancelled) raised CancelledError; {line}");
            stamp_iteration(&log, &here, &line);
        }
        sleep(0.0, ()).await?;
        let line = format!("main: after a yield, witness ran {}", ran());
        stamp_iteration(&log, &here, &line);
        Ok(())
    });
}

/// `wait_for(task, None)` awaits the task, as long as it takes.
#[test]
fn wait_for_no_timeout_a_task() {
    let (event_loop, out) = new_case();
    let (here, log) = (event_loop.clone(), out.clone());
    run_section(
        "wait_for_no_timeout_a_task",
        &event_loop,
        &out,
        async move {
            let task = create_task(&here, cleans_up(&here, &log, 1000.0, 0.0, 5))?;
            stamp_iteration(&log, &here, "main: wait_for(task, None)");
            let value = wait_for(task, None).await?;
            stamp_iteration(&log, &here, &format!("main: got {value}"));
            Ok(())
        },
    );
}

/// `wait_for(coroutine, None)` awaits the coroutine in the caller's own
/// task (asyncio: `return await fut`), making no task of it.
#[test]
fn wait_for_no_timeout_a_coroutine() {
    let (event_loop, out) = new_case();
    let (here, log) = (event_loop.clone(), out.clone());
    run_section(
        "wait_for_no_timeout_a_coroutine",
        &event_loop,
        &out,
        async move {
            stamp_iteration(&log, &here, "main: wait_for(coroutine, None)");
            let worker = cleans_up(&here, &log, 1000.0, 0.0, 5);
            let value = wait_for(worker, None).await?;
            stamp_iteration(&log, &here, &format!("main: got {value}"));
            Ok(())
        },
    );
}
