//! Scenario 10, the notifier: a web handler hands notifications to a loop
//! running in a worker thread, and returns at once.
//!
//! From "Threaded Asynchronous Magic and How to Wield It" by
//! tryexceptpass: the handler's thread must not wait for the notifications,
//! so it hands plain functions to the loop with `call_soon_threadsafe` and
//! coroutines with `run_coroutine_threadsafe`. The loop is then a queue:
//! plain functions run in the order they were handed over, and a slow one
//! holds up everything behind it; coroutines, once started, take turns.
//!
//! Here the slow notification is slow until the handler has handed over
//! the rest (it waits for the handler's word), so that every run prints
//! the same order: real threads, and nothing timed.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use demo_support::Transcript;
use stage01_generator_loop::RealClock;

use super::ScenarioError;
use crate::concurrent::ConcurrentFuture;
use crate::loop_thread::LoopThread;
use crate::threadsafe::run_coroutine_threadsafe;
use crate::yield_now;

/// What the loop's thread says, in order; the handler reads it at the end.
type Log = Arc<Mutex<Vec<String>>>;

fn say(log: &Log, line: String) {
    log.lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .push(line);
}

// ANCHOR: notifier
/// Scenario 10: the handler hands a slow notification, three plain ones
/// and two notification coroutines to a loop in a worker thread, returns,
/// and the loop works through them. Writes what happened to `out`.
pub fn notifier(out: &Transcript) -> Result<(), ScenarioError> {
    let worker = LoopThread::spawn(RealClock::new())?;
    let remote = worker.remote().clone();
    let log: Log = Arc::default();

    // The slow one: the loop is busy with it until the handler lets go.
    let (busy, loop_is_busy) = mpsc::channel();
    let (let_go, wait) = mpsc::channel::<()>();
    let slow = Arc::clone(&log);
    remote.call_soon_threadsafe(move |_| {
        let _ = busy.send(());
        let _ = wait.recv();
        say(
            &slow,
            "loop:    slow notification sent; everything waited for it".into(),
        );
    })?;
    let _ = loop_is_busy.recv();

    let mut coroutines: Vec<ConcurrentFuture<()>> = Vec::new();
    for job in [
        "plain 1",
        "plain 2",
        "coroutine A",
        "coroutine B",
        "plain 3",
    ] {
        let log = Arc::clone(&log);
        if let Some(name) = job.strip_prefix("coroutine ") {
            let name = name.to_string();
            let steps = move || async move {
                for step in 1..=3 {
                    say(&log, format!("loop:    coroutine {name}, step {step}"));
                    yield_now().await;
                }
            };
            coroutines.push(run_coroutine_threadsafe(steps, &remote)?);
        } else {
            let job = job.to_string();
            remote.call_soon_threadsafe(move |_| say(&log, format!("loop:    {job} sent")))?;
        }
    }
    say(
        &log,
        "handler: handed over 6 notifications, returned".into(),
    );
    let _ = let_go.send(());

    for coroutine in coroutines {
        coroutine.result(None).map_err(std::io::Error::other)?;
    }
    worker.stop()?;
    for line in log
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .iter()
    {
        out.say(line);
    }
    Ok(())
}
// ANCHOR_END: notifier
