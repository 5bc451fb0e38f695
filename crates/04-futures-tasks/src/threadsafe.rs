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
    hand_over(remote, move |event_loop, done| {
        start(event_loop, make, done)
    })
}

/// In the loop's thread: make the task, and let its end finish the future.
fn start<M, F>(event_loop: &SelectorEventLoop, make: M, mut done: Answer<F::Output>)
where
    M: FnOnce() -> F,
    F: std::future::Future + 'static,
    F::Output: Send + 'static,
{
    let coroutine = match make_coroutine(make) {
        Ok(coroutine) => coroutine,
        Err(error) => return done.finish(Err(error)),
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

/// Hand `start` to the loop that `remote` reaches, to run there with the
/// [`Answer`] that finishes the thread-safe future handed back here. What
/// `run_coroutine_threadsafe` is made of (stage 5 makes its own with it).
///
/// # Errors
/// `Closed` if the loop is closed.
#[track_caller]
pub fn hand_over<T: Send + 'static>(
    remote: &Remote<SelectorEventLoop>,
    start: impl FnOnce(&SelectorEventLoop, Answer<T>) + Send + 'static,
) -> Result<ConcurrentFuture<T>, LoopError> {
    let future = ConcurrentFuture::new();
    let answer = Answer(Some(future.clone()));
    remote.call_soon_threadsafe(move |event_loop| start(event_loop, answer))?;
    Ok(future)
}

/// Call `make` for the coroutine, in the loop's thread; its panic is the
/// thread-safe future's exception.
///
/// # Errors
/// If `make` panics: its message.
pub fn make_coroutine<F>(make: impl FnOnce() -> F) -> Result<F, ConcurrentError> {
    catch_unwind(AssertUnwindSafe(make)).map_err(|payload| {
        let message = panic_message(payload.as_ref());
        ConcurrentError::Exception(format!("making the coroutine panicked: {message}"))
    })
}

/// A task's error, as a thread-safe future carries it: its message.
fn concurrent_error(error: FutureError) -> ConcurrentError {
    match error {
        FutureError::Cancelled => ConcurrentError::Cancelled,
        FutureError::Exception(error) => ConcurrentError::Exception(error.to_string()),
        FutureError::InvalidState(message) => ConcurrentError::Exception(message.to_string()),
    }
}

/// The loop's end of the future that `run_coroutine_threadsafe` handed
/// out, finished exactly once: with the task's outcome, or, if the work is
/// dropped unfinished (the loop closed first), with `LoopClosed`, so that
/// no thread waits for ever.
pub struct Answer<T: Send + 'static>(Option<ConcurrentFuture<T>>);

impl<T: Send + 'static> Answer<T> {
    /// The thread-safe future itself, until it is finished here.
    pub fn future(&self) -> Option<&ConcurrentFuture<T>> {
        self.0.as_ref()
    }

    /// Finish the future with `outcome`, unless something finished (or
    /// cancelled) it first.
    pub fn finish(&mut self, outcome: Result<T, ConcurrentError>) {
        if let Some(future) = self.0.take() {
            // Only this finishes it, once.
            let _first = future.finish(outcome);
        }
    }
}

impl<T: Send + 'static> Drop for Answer<T> {
    fn drop(&mut self) {
        self.finish(Err(ConcurrentError::LoopClosed));
    }
}
