//! Running a coroutine on a loop from another thread.
//!
//! Mirrors `run_coroutine_threadsafe` in CPython's `asyncio/tasks.py`: the
//! calling thread hands the loop a callback (through the self-pipe, stage
//! 3's `call_soon_threadsafe`) that makes a task of the coroutine there,
//! and gets back a [`ConcurrentFuture`] that the task's end finishes. The
//! coroutine is made in the loop's thread, from a function that is `Send`:
//! the coroutine itself need not be, since it never crosses a thread.

use std::panic::{AssertUnwindSafe, catch_unwind};

use stage01_generator_loop::guessing_loop::panic_message;
use stage02_timed_events::LoopError;
use stage03_read_readiness::{Remote, SelectorEventLoop};

use crate::concurrent::{ConcurrentError, ConcurrentFuture};
use crate::create_task;
use crate::futures::FutureError;

// ANCHOR: run_coroutine_threadsafe
/// asyncio's `run_coroutine_threadsafe(coro, loop)`: make the coroutine
/// `make` makes into a task on the loop that `remote` reaches, from any
/// thread, and hand back a future this thread can wait on. `Closed` if the
/// loop is closed; if it closes before the task ends, the future ends with
/// `LoopClosed`.
#[track_caller]
pub fn run_coroutine_threadsafe<M, F>(
    make: M,
    remote: &Remote<SelectorEventLoop>,
) -> Result<ConcurrentFuture<F::Output>, LoopError>
where
    M: FnOnce() -> F + Send + 'static,
    F: std::future::Future + 'static,
    F::Output: Send + 'static,
{
    let future = ConcurrentFuture::new();
    let done = FinishOnDrop(Some(future.clone()));
    remote.call_soon_threadsafe(move |event_loop| start(event_loop, make, done))?;
    Ok(future)
}

/// In the loop's thread: make the task, and let its end finish the future.
fn start<M, F>(event_loop: &SelectorEventLoop, make: M, mut done: FinishOnDrop<F::Output>)
where
    M: FnOnce() -> F,
    F: std::future::Future + 'static,
    F::Output: Send + 'static,
{
    let coroutine = match catch_unwind(AssertUnwindSafe(make)) {
        Ok(coroutine) => coroutine,
        Err(payload) => {
            let message = format!(
                "making the coroutine panicked: {}",
                panic_message(payload.as_ref())
            );
            return done.finish(Err(ConcurrentError::Exception(message)));
        }
    };
    match create_task(event_loop, coroutine) {
        Ok(task) => {
            task.add_done_callback(move |_, task| {
                let outcome = task.take_result().map_err(concurrent_error);
                done.finish(outcome);
            });
        }
        Err(error) => done.finish(Err(ConcurrentError::Exception(error.to_string()))),
    }
}
// ANCHOR_END: run_coroutine_threadsafe

/// A task's error, as a thread-safe future carries it: its message.
fn concurrent_error(error: FutureError) -> ConcurrentError {
    match error {
        FutureError::Cancelled => ConcurrentError::Cancelled,
        FutureError::Exception(error) => ConcurrentError::Exception(error.to_string()),
        FutureError::InvalidState(message) => ConcurrentError::Exception(message.to_string()),
    }
}

/// The future that `run_coroutine_threadsafe` handed out, finished exactly
/// once: with the task's outcome, or, if the work is dropped unfinished
/// (the loop closed first), with `LoopClosed`, so that no thread waits for
/// ever.
struct FinishOnDrop<T: Send + 'static>(Option<ConcurrentFuture<T>>);

impl<T: Send + 'static> FinishOnDrop<T> {
    fn finish(&mut self, outcome: Result<T, ConcurrentError>) {
        if let Some(future) = self.0.take() {
            // Only this finishes it, once.
            let _first = future.finish(outcome);
        }
    }
}

impl<T: Send + 'static> Drop for FinishOnDrop<T> {
    fn drop(&mut self) {
        self.finish(Err(ConcurrentError::LoopClosed));
    }
}
