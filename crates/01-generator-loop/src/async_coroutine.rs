//! `async`/`.await` as a generator: the same loop drives a Rust future.
//!
//! Mirrors PEP 492 coroutines in CPython (`Objects/genobject.c`: a coroutine is
//! a generator underneath, `coro.send(None)` resumes it, and an object's
//! `__await__` hands back the generator whose yields travel out to the loop).
//!
//! Stable Rust has no generators you can write, but `async` blocks are the
//! same transform: the compiler turns the body into a state machine whose
//! `poll` runs to the next `.await` that is not ready. One thing differs:
//! `Poll::Pending` carries no value, so a future cannot *yield* its guess the
//! way a Python generator does. Here the guess travels sideways, through a
//! [`Yielder`] that the future and the loop share.
//!
//! Python warns at run time about a coroutine that was created and never
//! awaited. Rust futures are `#[must_use]`, so the compiler catches it; with
//! the warning made an error, this does not compile:
//!
//! ```compile_fail
//! #![deny(unused_must_use)]
//! use std::time::Duration;
//! use stage01_generator_loop::composition::print_every_period;
//! use stage01_generator_loop::{Transcript, Yielder};
//!
//! fn main() {
//!     let (co, out) = (Yielder::default(), Transcript::new());
//!     print_every_period(co, "never awaited".into(), Duration::from_secs(1), 1, out);
//! }
//! ```
//!
//! while the same call handed to a loop does:
//!
//! ```
//! #![deny(unused_must_use)]
//! use std::time::Duration;
//! use stage01_generator_loop::composition::print_every_period;
//! use stage01_generator_loop::{AsyncCoroutine, GuessingLoop, Transcript, VirtualClock};
//!
//! fn main() {
//!     let out = Transcript::new();
//!     let task = AsyncCoroutine::new(|co| {
//!         print_every_period(co, "awaited".into(), Duration::from_secs(1), 1, out.clone())
//!     });
//!     let result = GuessingLoop::new(VirtualClock::new()).run_until_complete(task);
//!     assert_eq!(result, Ok("Print 1 over".to_string()));
//!     assert_eq!(out.lines(), ["  1.000  awaited"]);
//! }
//! ```

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use crate::coroutine::{Coroutine, Step};
use crate::sleep::Sleep;

#[derive(Debug, Default)]
struct Channel {
    /// The time of the current resume, set by the loop before each poll.
    now: Cell<Duration>,
    /// The guess the future left before it answered `Pending`.
    guess: Cell<Option<f64>>,
}

// ANCHOR: yielder
/// The sideways channel between an `async` body and the loop that resumes it.
#[derive(Debug, Clone, Default)]
pub struct Yielder {
    channel: Rc<Channel>,
}

impl Yielder {
    /// The loop's clock at the current resume.
    pub fn now(&self) -> Duration {
        self.channel.now.get()
    }

    /// Python's `yield from coroutine` (and `await`): run a hand-written
    /// coroutine inside an `async` body, passing each of its guesses out to
    /// the loop, and evaluate to its result.
    pub fn yield_from<C: Coroutine + Unpin>(&self, coroutine: C) -> YieldFrom<C> {
        YieldFrom {
            yielder: self.clone(),
            coroutine,
        }
    }

    /// `await sleep(duration)`, built from [`Sleep`].
    pub fn sleep(&self, duration: Duration) -> YieldFrom<Sleep> {
        self.yield_from(Sleep::new(duration))
    }
}

/// The future returned by [`Yielder::yield_from`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` them"]
pub struct YieldFrom<C> {
    yielder: Yielder,
    coroutine: C,
}

impl<C: Coroutine + Unpin> Future for YieldFrom<C> {
    type Output = C::Output;

    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<C::Output> {
        let now = self.yielder.now();
        match self.coroutine.resume(now) {
            Step::NotReady(guess) => {
                self.yielder.channel.guess.set(Some(guess));
                Poll::Pending
            }
            Step::Complete(value) => Poll::Ready(value),
        }
    }
}
// ANCHOR_END: yielder

// ANCHOR: async_coroutine
/// A future, driven as a [`Coroutine`]: each resume is one `poll`.
pub struct AsyncCoroutine<F> {
    future: Pin<Box<F>>,
    yielder: Yielder,
}

impl<F: Future> AsyncCoroutine<F> {
    /// Build the future from a function that is handed its [`Yielder`]:
    /// `AsyncCoroutine::new(|co| async move { co.sleep(d).await; 42 })`.
    /// Like calling an `async def`, this runs none of the body yet.
    pub fn new(make: impl FnOnce(Yielder) -> F) -> Self {
        let yielder = Yielder::default();
        Self {
            future: Box::pin(make(yielder.clone())),
            yielder,
        }
    }
}

impl<F: Future> Coroutine for AsyncCoroutine<F> {
    type Output = F::Output;

    fn resume(&mut self, now: Duration) -> Step<F::Output> {
        self.yielder.channel.now.set(now);
        // Stage 1 resumes every task every round, so nobody needs waking:
        // a Waker that does nothing is enough. Stage 4 gives it a real job.
        let waker = futures_task::noop_waker();
        match self.future.as_mut().poll(&mut Context::from_waker(&waker)) {
            Poll::Ready(value) => Step::Complete(value),
            Poll::Pending => match self.yielder.channel.guess.take() {
                Some(guess) => Step::NotReady(guess),
                // Something other than a Yielder said Pending: no loop here
                // could ever wake it, so say so instead of waiting forever.
                None => panic!(
                    "the future returned Pending without a guess: in stage 1, \
                     only futures from `Yielder` may suspend"
                ),
            },
        }
    }
}
// ANCHOR_END: async_coroutine

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_does_not_run_until_first_resume() {
        let ran = Rc::new(Cell::new(false));
        let flag = ran.clone();
        let mut coroutine = AsyncCoroutine::new(move |_| async move { flag.set(true) });
        assert!(!ran.get());
        assert_eq!(coroutine.resume(Duration::ZERO), Step::Complete(()));
        assert!(ran.get());
    }

    #[test]
    fn guesses_travel_out_and_results_travel_in() {
        let mut coroutine = AsyncCoroutine::new(|co| async move {
            let inner = co.sleep(Duration::from_secs(2)).await;
            format!("outer saw: {inner}")
        });
        assert_eq!(coroutine.resume(Duration::ZERO), Step::NotReady(2.0));
        assert_eq!(
            coroutine.resume(Duration::from_secs(1)),
            Step::NotReady(1.0)
        );
        assert_eq!(
            coroutine.resume(Duration::from_secs(2)),
            Step::Complete("outer saw: Sleep 2 over".to_string())
        );
    }

    #[test]
    #[should_panic(expected = "Pending without a guess")]
    fn pending_without_a_guess_is_refused() {
        let mut coroutine = AsyncCoroutine::new(|_| std::future::pending::<()>());
        coroutine.resume(Duration::ZERO);
    }
}
