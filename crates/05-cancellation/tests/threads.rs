//! Cancellation across threads: a coroutine handed to a loop in a worker
//! thread is cancelled from the thread that handed it over; a task awaiting
//! a blocking function in the pool is cancelled, and the function runs on.
//! Real threads: the tests assert orders and outcomes, never times.

use std::sync::mpsc;

use stage01_generator_loop::{RealClock, VirtualClock};
use stage03_read_readiness::{PollSelector, SelectorEventLoop, SelectorEvents};
use stage04_futures_tasks::{
    ConcurrentError, FutureError, LoopThread, run_in_executor, run_until_complete,
};
use stage05_cancellation::{create_task, run_coroutine_threadsafe, sleep, yield_now};

#[test]
fn cancelling_the_threadsafe_future_cancels_the_task_in_its_loop() {
    let worker = LoopThread::spawn(RealClock::new()).unwrap();
    let (started, saw) = (mpsc::channel(), mpsc::channel());
    let (started_tx, saw_tx) = (started.0, saw.0);
    let future = run_coroutine_threadsafe(
        move || async move {
            started_tx.send(()).unwrap();
            let slept = sleep(3600.0, 1).await;
            // The clean-up runs in the loop's thread, and tells this one.
            saw_tx.send(format!("{slept:?}")).unwrap();
            slept
        },
        worker.remote(),
    )
    .unwrap();
    started.1.recv().unwrap(); // it waits in its sleep now
    assert!(future.cancel(), "pending: it can be cancelled");
    assert_eq!(future.result(None), Err(ConcurrentError::Cancelled));
    assert_eq!(
        saw.1.recv().unwrap(),
        "Err(cancelled)",
        "the task saw it at its sleep"
    );
    assert!(future.cancel(), "cancelled already: still true");
    worker.stop().unwrap();
}

#[test]
fn a_threadsafe_future_that_is_done_cannot_be_cancelled() {
    let worker = LoopThread::spawn(RealClock::new()).unwrap();
    let future = run_coroutine_threadsafe(|| async { Ok(7) }, worker.remote()).unwrap();
    assert_eq!(future.result(None), Ok(7));
    assert!(!future.cancel());
    assert_eq!(future.result(None), Ok(7));
    worker.stop().unwrap();
}

/// asyncio's `run_in_executor`, cancelled: the awaiting task sees the
/// cancellation at once, and the function, already running in its thread,
/// runs on to its end: nothing stops a thread from outside.
#[test]
fn cancelling_a_task_awaiting_the_pool_leaves_the_function_running() {
    let event_loop =
        SelectorEventLoop::with_selector(VirtualClock::new(), PollSelector::new()).unwrap();
    let (entered_tx, entered) = mpsc::channel();
    let (release, released) = mpsc::channel::<()>();
    let (finished_tx, finished) = mpsc::channel();
    let inner = event_loop.clone();
    let waiter = create_task(&event_loop, async move {
        let call = run_in_executor(&inner, None, move || {
            entered_tx.send(()).unwrap();
            released.recv().unwrap(); // blocks until the test lets it go
            finished_tx.send("the function ran to its end").unwrap();
        })?;
        call.await
    })
    .unwrap();
    let target = waiter.clone();
    let seen = run_until_complete(&event_loop, async move {
        entered.recv().unwrap(); // the function runs, in the pool
        target.cancel(None);
        let seen = target.await;
        yield_now().await.unwrap();
        seen
    })
    .unwrap();
    assert!(matches!(seen, Err(FutureError::Cancelled)), "{seen:?}");
    release.send(()).unwrap();
    assert_eq!(finished.recv().unwrap(), "the function ran to its end");
    drop(event_loop); // shuts the default pool down, joining its thread
}
