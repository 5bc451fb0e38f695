//! A coroutine handed to a loop from another thread, and cancelled from
//! there.
//!
//! Mirrors `run_coroutine_threadsafe` and `futures._chain_future` in
//! CPython's `asyncio/tasks.py` and `asyncio/futures.py`: stage 4's way of
//! handing a coroutine over, with the link back that stage 4 could not
//! make. Cancelling the thread-safe future, from any thread, sends the
//! loop a call (`call_soon_threadsafe`) that cancels the task there: a
//! task is not `Send`, so the call names it by a number, and the loop
//! keeps the tasks handed over by number until they end.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use stage02_timed_events::LoopError;
use stage03_read_readiness::{Remote, SelectorEventLoop};
use stage04_futures_tasks::{
    Answer, ConcurrentError, ConcurrentFuture, FutureError, hand_over, make_coroutine,
};

use crate::tasks::{CurrentTask, create_task};

/// The tasks a loop runs for other threads, by number, until they end.
#[derive(Default)]
struct HandedOver {
    tasks: RefCell<HashMap<u64, CurrentTask>>,
    next: Cell<u64>,
}

// ANCHOR: run_coroutine_threadsafe
/// asyncio's `run_coroutine_threadsafe(coro, loop)`, with cancellation:
/// as stage 4's, and `cancel()` of the future handed back, from any
/// thread, cancels the task (the coroutine sees it at its pending await).
///
/// # Errors
/// `Closed` if the loop is closed.
#[track_caller]
pub fn run_coroutine_threadsafe<M, F, T>(
    make: M,
    remote: &Remote<SelectorEventLoop>,
) -> Result<ConcurrentFuture<T>, LoopError>
where
    M: FnOnce() -> F + Send + 'static,
    F: std::future::Future<Output = Result<T, FutureError>> + 'static,
    T: Send + 'static,
{
    let remote = remote.clone();
    hand_over(&remote.clone(), move |event_loop, answer| {
        start(event_loop, make, answer, remote);
    })
}

/// In the loop's thread: make the task, let its end answer, and let a
/// cancel of the answer cancel it.
fn start<M, F, T>(
    event_loop: &SelectorEventLoop,
    make: M,
    mut answer: Answer<T>,
    remote: Remote<SelectorEventLoop>,
) where
    M: FnOnce() -> F,
    F: std::future::Future<Output = Result<T, FutureError>> + 'static,
    T: Send + 'static,
{
    let (coroutine, handed_over) =
        match (make_coroutine(make), event_loop.attachment::<HandedOver>()) {
            (Ok(coroutine), Ok(handed_over)) => (coroutine, handed_over),
            (Err(error), _) => return answer.finish(Err(error)),
            (_, Err(error)) => {
                return answer.finish(Err(ConcurrentError::Exception(error.to_string())));
            }
        };
    let task = match create_task(event_loop, coroutine) {
        Ok(task) => task,
        Err(error) => return answer.finish(Err(ConcurrentError::Exception(error.to_string()))),
    };
    let number = handed_over.next.replace(handed_over.next.get() + 1);
    handed_over.tasks.borrow_mut().insert(number, task.handle());
    if let Some(future) = answer.future() {
        // `_chain_future`: the answer cancelled, in whatever thread, cancels
        // the task in this one.
        future.add_done_callback(move |future| {
            if future.cancelled() {
                let _closed =
                    remote.call_soon_threadsafe(move |event_loop| cancel(event_loop, number));
            }
        });
    }
    task.add_done_callback(move |event_loop, task| {
        if let Ok(handed_over) = event_loop.attachment::<HandedOver>() {
            handed_over.tasks.borrow_mut().remove(&number);
        }
        let outcome = match task.take_outcome() {
            Ok(value) => Ok(value),
            Err(FutureError::Cancelled) => Err(ConcurrentError::Cancelled),
            Err(error) => Err(ConcurrentError::Exception(error.to_string())),
        };
        answer.finish(outcome);
    });
}

/// In the loop's thread: cancel the task handed over as `number`, if it
/// has not ended.
fn cancel(event_loop: &SelectorEventLoop, number: u64) {
    let Ok(handed_over) = event_loop.attachment::<HandedOver>() else {
        return;
    };
    let task = handed_over.tasks.borrow().get(&number).cloned();
    if let Some(task) = task {
        task.cancel(None);
    }
}
// ANCHOR_END: run_coroutine_threadsafe
