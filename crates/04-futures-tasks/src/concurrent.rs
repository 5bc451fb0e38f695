//! A future that threads can share: one thread waits for it, another
//! finishes it.
//!
//! Mirrors `Future` in CPython's `concurrent/futures/_base.py`, which
//! `asyncio.run_coroutine_threadsafe` hands back to the thread that called
//! it: `result(timeout)` blocks the calling thread until the future is done
//! or the timeout passes; done-callbacks run in the thread that finishes the
//! future (or at once, in the adding thread, if it is done already). The
//! loop's own [`Future`](crate::Future) is for tasks on one thread; this one
//! is a `Mutex` and a `Condvar`, `Send` and `Sync`.

use std::error::Error;
use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use stage02_timed_events::seconds::to_nanos;

// ANCHOR: concurrent_error
/// Why a [`ConcurrentFuture`] has no result to give.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConcurrentError {
    /// `concurrent.futures.TimeoutError`: not done within the timeout.
    Timeout,
    /// It was finished with an error; the error's message, which is what
    /// crosses threads (an asyncio exception object does not have to).
    Exception(String),
    /// `CancelledError`: what it stood for was cancelled (stage 5).
    Cancelled,
    /// `InvalidStateError`: finished twice.
    InvalidState,
    /// The loop that was to finish it closed first, and dropped the work
    /// (asyncio's future would stay pending for ever).
    LoopClosed,
    /// A timeout of NaN seconds.
    NotANumber,
}
// ANCHOR_END: concurrent_error

impl fmt::Display for ConcurrentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Timeout => write!(f, "not done within the timeout"),
            Self::Exception(message) => write!(f, "{message}"),
            Self::Cancelled => write!(f, "cancelled"),
            Self::InvalidState => write!(f, "the future is already done"),
            Self::LoopClosed => write!(f, "the loop closed before the work was done"),
            Self::NotANumber => write!(f, "a timeout of NaN seconds means nothing"),
        }
    }
}

impl Error for ConcurrentError {}

type DoneCallback<T> = Box<dyn FnOnce(&ConcurrentFuture<T>) + Send>;

// ANCHOR: concurrent_future
/// `concurrent.futures.Future`. Clones are the same future, in any thread.
pub struct ConcurrentFuture<T> {
    shared: Arc<Shared<T>>,
}

struct Shared<T> {
    state: Mutex<State<T>>,
    /// Notified when the future is done: what `result` waits on.
    done: Condvar,
    /// How many times `result` looks before it sleeps (see `spinning`).
    looks: AtomicU32,
}

struct State<T> {
    outcome: Option<Result<T, ConcurrentError>>,
    callbacks: Vec<DoneCallback<T>>,
}
// ANCHOR_END: concurrent_future

impl<T: Send + 'static> ConcurrentFuture<T> {
    /// A pending future.
    pub fn new() -> Self {
        let state = State {
            outcome: None,
            callbacks: Vec::new(),
        };
        Self {
            shared: Arc::new(Shared {
                state: Mutex::new(state),
                done: Condvar::new(),
                looks: AtomicU32::new(0),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether it is done.
    pub fn done(&self) -> bool {
        self.lock().outcome.is_some()
    }

    /// `concurrent.futures.Future.cancel()`, from any thread: `true` if it
    /// is cancelled now (or was already), `false` if it is done otherwise.
    /// Whoever made it hears of it through a done-callback: stage 5's
    /// `run_coroutine_threadsafe` then cancels its task, in the loop's
    /// thread (asyncio's `_chain_future`).
    pub fn cancel(&self) -> bool {
        self.finish(Err(ConcurrentError::Cancelled)).is_ok() || self.cancelled()
    }

    /// Whether it was cancelled.
    pub fn cancelled(&self) -> bool {
        matches!(self.lock().outcome, Some(Err(ConcurrentError::Cancelled)))
    }

    /// `set_result`: done with `value`; waiters wake, and the done-callbacks
    /// run here, in this thread, in the order they were added.
    pub fn set_result(&self, value: T) -> Result<(), ConcurrentError> {
        self.finish(Ok(value))
    }

    /// `set_exception`: done with an error, said by `error`'s message.
    pub fn set_exception(&self, error: impl fmt::Display) -> Result<(), ConcurrentError> {
        self.finish(Err(ConcurrentError::Exception(error.to_string())))
    }

    // ANCHOR: finish
    /// Keep the outcome, wake every thread in `result`, then run the
    /// callbacks, outside the lock: a callback may ask the future anything.
    pub(crate) fn finish(
        &self,
        outcome: Result<T, ConcurrentError>,
    ) -> Result<(), ConcurrentError> {
        let callbacks = {
            let mut state = self.lock();
            if state.outcome.is_some() {
                return Err(ConcurrentError::InvalidState);
            }
            state.outcome = Some(outcome);
            std::mem::take(&mut state.callbacks)
        };
        self.shared.done.notify_all();
        for callback in callbacks {
            callback(self);
        }
        Ok(())
    }
    // ANCHOR_END: finish

    /// `add_done_callback`: `callback` runs in the thread that finishes the
    /// future; if it is done already, now, in this thread.
    pub fn add_done_callback(&self, callback: impl FnOnce(&ConcurrentFuture<T>) + Send + 'static) {
        let mut state = self.lock();
        if state.outcome.is_none() {
            state.callbacks.push(Box::new(callback));
            return;
        }
        drop(state);
        callback(self);
    }
}

impl<T: Clone + Send + 'static> ConcurrentFuture<T> {
    // ANCHOR: spinning
    /// Making it fast: let `result` look `looks` times, yielding the
    /// processor between looks, before it sleeps. Waking a sleeping thread
    /// can cost more than the work waited for (see the pool's `spinning`).
    pub fn spinning(self, looks: u32) -> Self {
        self.shared.looks.store(looks, Ordering::Relaxed);
        self
    }
    // ANCHOR_END: spinning

    // ANCHOR: result
    /// `result(timeout)`: block this thread until the future is done, then
    /// hand back its value or its error; `Timeout` if `timeout` seconds pass
    /// first. `None` (or infinity) waits for as long as it takes; zero or
    /// less only looks.
    pub fn result(&self, timeout: Option<f64>) -> Result<T, ConcurrentError> {
        let deadline = match timeout {
            None => None,
            Some(seconds) => {
                let nanos = to_nanos(seconds).ok_or(ConcurrentError::NotANumber)?;
                let wait = Duration::from_nanos(u64::try_from(nanos).unwrap_or(0));
                Instant::now().checked_add(wait)
            }
        };
        let looks = self.shared.looks.load(Ordering::Relaxed);
        for _ in 0..looks {
            if self.done() {
                break;
            }
            std::thread::yield_now();
        }
        let mut state = self.lock();
        loop {
            if let Some(outcome) = &state.outcome {
                return outcome.clone();
            }
            state = match deadline {
                None => self
                    .shared
                    .done
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner),
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Err(ConcurrentError::Timeout);
                    }
                    let waited = self.shared.done.wait_timeout(state, left);
                    waited.unwrap_or_else(PoisonError::into_inner).0
                }
            };
        }
    }
    // ANCHOR_END: result
}

impl<T: Send + 'static> Default for ConcurrentFuture<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Clone for ConcurrentFuture<T> {
    fn clone(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<T> fmt::Debug for ConcurrentFuture<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self
            .shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let what = if state.outcome.is_some() {
            "finished"
        } else {
            "pending"
        };
        write!(f, "<ConcurrentFuture {what}>")
    }
}
