//! Stage 5 among threads against CPython (tests/parity/stage05_threads.py),
//! section by section, line by line: `run_coroutine_threadsafe`'s future
//! cancelled from the thread that handed the coroutine over (while the
//! task sleeps, before the loop has made the task, and once it is done),
//! and `run_in_executor` with its awaiter cancelled while the function
//! runs in the pool. Real threads on both sides; nothing timed: each line
//! is an outcome, in an order made certain by a handshake between the
//! threads, or a count.
//!
//! On stage 4's fast tasks (and so on stage 5's fast path) the case of a
//! cancel before the loop has made the task is run but not compared:
//! their loop looks at its self-pipe once in 61 iterations while callbacks
//! are ready, so the cancel reaches the task a step later than asyncio's,
//! after its first await.

mod common;

use std::sync::mpsc;

use demo_support::Transcript;
use stage01_generator_loop::{RealClock, VirtualClock};
use stage03_read_readiness::{PollSelector, SelectorEventLoop, SelectorEvents};
use stage04_futures_tasks::{
    ConcurrentError, FutureError, LoopThread, run_in_executor, run_until_complete, task_outcome,
};
use stage05_cancellation::{create_task, run_coroutine_threadsafe, sleep};

use common::compare_section;
use common::stage04::py_bool;

/// The script our loop is compared with.
const SCRIPT: &str = "stage05_threads.py";

#[test]
fn the_script_prints_the_sections_compared_here() {
    common::assert_prints_sections(
        SCRIPT,
        &[
            "run_coroutine_threadsafe_cancelled_from_this_thread",
            "run_coroutine_threadsafe_cancelled_before_it_starts",
            "run_coroutine_threadsafe_done_cannot_be_cancelled",
            "run_in_executor_cancelled_awaiter_leaves_the_thread_running",
        ],
    );
}

/// The line the script prints when `result()` raises `CancelledError` (and,
/// if it does not, a line that says what it gave, which the script never
/// prints).
fn cancelled_line<T: std::fmt::Debug>(result: Result<T, ConcurrentError>) -> String {
    match result {
        Err(ConcurrentError::Cancelled) => "result: CancelledError".to_string(),
        other => format!("result: not cancelled but {other:?}"),
    }
}

/// Cancelling the thread-safe future from this thread cancels the task in
/// the loop's thread: the future reports it cancelled at once, the task
/// sees the cancellation at its sleep and cleans up, once.
#[test]
fn run_coroutine_threadsafe_cancelled_from_this_thread() {
    let worker = LoopThread::spawn(RealClock::new()).unwrap();
    let out = Transcript::new();
    let (started_tx, started) = mpsc::channel();
    let (said_tx, said) = mpsc::channel();
    let future = run_coroutine_threadsafe(
        move || async move {
            started_tx.send(()).unwrap();
            let slept = sleep(3600.0, ()).await;
            if let Err(cancelled) = slept {
                // The clean-up runs in the loop's thread, and tells this one.
                said_tx
                    .send("task: CancelledError at its sleep; cleans up")
                    .unwrap();
                sleep(0.0, ()).await?;
                said_tx.send("task: passes it on").unwrap();
                return Err(cancelled);
            }
            Ok(())
        },
        worker.remote(),
    )
    .unwrap();
    started.recv().unwrap();
    out.say(format!("cancel: {}", py_bool(future.cancel())));
    let (cancelled, done) = (py_bool(future.cancelled()), py_bool(future.done()));
    out.say(format!("cancelled {cancelled}, done {done}"));
    out.say(cancelled_line(future.result(None)));
    for _ in 0..2 {
        out.say(said.recv().unwrap());
    }
    out.say(format!("cancel again: {}", py_bool(future.cancel())));
    worker.stop().unwrap();
    let nothing_more = py_bool(said.try_recv().is_err());
    out.say(format!("task said nothing more: {nothing_more}"));
    compare_section(
        SCRIPT,
        "run_coroutine_threadsafe_cancelled_from_this_thread",
        &out.lines(),
    );
}

/// Cancelled while the loop's thread is busy, before the loop has made its
/// task: the task is made all the same, its first step queued before the
/// cancel, so the body runs until its first await, where the cancellation
/// lands. Compared on the textbook tasks only (see below).
#[test]
fn run_coroutine_threadsafe_cancelled_before_it_starts() {
    let worker = LoopThread::spawn(RealClock::new()).unwrap();
    let out = Transcript::new();
    let (blocking_tx, blocking) = mpsc::channel();
    let (release, released) = mpsc::channel::<()>();
    let (said_tx, said) = mpsc::channel();
    let blocker = run_coroutine_threadsafe(
        move || async move {
            blocking_tx.send(()).unwrap();
            released.recv().unwrap(); // holds the loop's thread
            Ok(())
        },
        worker.remote(),
    )
    .unwrap();
    blocking.recv().unwrap();
    let future = run_coroutine_threadsafe(
        move || async move {
            said_tx.send("body: runs").unwrap();
            if let Err(cancelled) = sleep(0.0, ()).await {
                said_tx
                    .send("body: CancelledError at its first await")
                    .unwrap();
                return Err(cancelled);
            }
            said_tx.send("body: returns").unwrap();
            Ok(1)
        },
        worker.remote(),
    )
    .unwrap();
    out.say(format!("cancel: {}", py_bool(future.cancel())));
    release.send(()).unwrap();
    // Answered once everything handed over before it has run.
    let after = run_coroutine_threadsafe(|| sleep(0.0, ()), worker.remote()).unwrap();
    after.result(None).unwrap();
    while let Ok(line) = said.try_recv() {
        out.say(line);
    }
    out.say(cancelled_line(future.result(None)));
    assert_eq!(blocker.result(None), Ok(()));
    worker.stop().unwrap();
    if common::on_stage04_fast_tasks() {
        // Not the same on stage 4's fast tasks: while callbacks are ready
        // their loop looks at its self-pipe once in 61 iterations, not in
        // every one as asyncio's does, so the cancel, handed over from the
        // loop's own thread, reaches the task after its first await, and
        // the body returns.
        eprintln!("skipped on the fast tasks: the cancel comes after the first await");
        return;
    }
    compare_section(
        SCRIPT,
        "run_coroutine_threadsafe_cancelled_before_it_starts",
        &out.lines(),
    );
}

/// A thread-safe future that is done refuses a cancel, and keeps its
/// result.
#[test]
fn run_coroutine_threadsafe_done_cannot_be_cancelled() {
    let worker = LoopThread::spawn(RealClock::new()).unwrap();
    let out = Transcript::new();
    let future = run_coroutine_threadsafe(|| async { Ok(7) }, worker.remote()).unwrap();
    out.say(format!("result: {}", future.result(None).unwrap()));
    out.say(format!("cancel: {}", py_bool(future.cancel())));
    let cancelled = py_bool(future.cancelled());
    let result = future.result(None).unwrap();
    out.say(format!("cancelled {cancelled}, result: {result}"));
    worker.stop().unwrap();
    compare_section(
        SCRIPT,
        "run_coroutine_threadsafe_done_cannot_be_cancelled",
        &out.lines(),
    );
}

/// Cancelling the task that awaits a function in the pool: the task sees
/// the cancellation at once, and the function, already running in its
/// thread, runs on to its end, once: nothing stops a thread from outside.
#[test]
fn run_in_executor_cancelled_awaiter_leaves_the_thread_running() {
    let event_loop =
        SelectorEventLoop::with_selector(VirtualClock::new(), PollSelector::new()).unwrap();
    let out = Transcript::new();
    let (entered_tx, entered) = mpsc::channel();
    let (release, released) = mpsc::channel::<()>();
    let (finished_tx, finished) = mpsc::channel();
    let (here, log) = (event_loop.clone(), out.clone());
    let main = create_task(&event_loop, async move {
        let (in_pool, said) = (here.clone(), log.clone());
        let task = create_task(&here, async move {
            let call = run_in_executor(&in_pool, None, move || {
                entered_tx.send(()).unwrap();
                released.recv().unwrap(); // until the test lets it go
                finished_tx.send("function: ran to its end").unwrap();
                42
            })?;
            let outcome = call.await;
            if let Err(FutureError::Cancelled) = outcome {
                said.say("awaiter: CancelledError");
            }
            outcome
        })?;
        sleep(0.0, ()).await?;
        entered.recv().unwrap(); // the function runs, in the pool
        log.say(format!(
            "main: cancel awaiter: {}",
            py_bool(task.cancel(None))
        ));
        if let Err(FutureError::Cancelled) = task.clone().await {
            log.say("main: awaiter cancelled");
        }
        let early = finished.try_recv().ok();
        log.say(format!(
            "main: function finished: {}",
            py_bool(early.is_some())
        ));
        Ok((finished, early))
    })
    .unwrap();
    let outcome = task_outcome(run_until_complete(&event_loop, main)).expect("main ran");
    let (finished, early) = outcome.expect("main is not cancelled and does not fail");
    release.send(()).unwrap();
    out.say(early.unwrap_or_else(|| finished.recv().unwrap()));
    drop(event_loop); // shuts the default pool down, joining its thread
    let once = py_bool(finished.try_recv().is_err());
    out.say(format!("function finished once: {once}"));
    compare_section(
        SCRIPT,
        "run_in_executor_cancelled_awaiter_leaves_the_thread_running",
        &out.lines(),
    );
}
