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
//! use stage01_generator_loop::Yielder;
//! use demo_support::Transcript;
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
//! use stage01_generator_loop::{AsyncCoroutine, GuessingLoop, VirtualClock};
//! use demo_support::Transcript;
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

struct Channel<Y> {
    /// The time of the current resume, set by the loop before each poll.
    now: Cell<Duration>,
    /// What the future yielded before it answered `Pending`.
    yielded: Cell<Option<Y>>,
}

// ANCHOR: yielder
/// The sideways channel between an `async` body and the loop that resumes it:
/// what a Python generator would `yield` travels through here. `Y` is what
/// the loop expects to be handed; stage 1's loop takes guesses (`f64`).
pub struct Yielder<Y = f64> {
    channel: Rc<Channel<Y>>,
}

impl<Y> Yielder<Y> {
    /// The loop's clock at the current resume.
    pub fn now(&self) -> Duration {
        self.channel.now.get()
    }

    /// Python's bare `yield value`: suspend, handing `value` to the loop, and
    /// carry on when the loop next resumes this coroutine.
    pub fn yield_value(&self, value: Y) -> YieldValue<'_, Y> {
        YieldValue {
            yielder: self,
            value: Some(value),
        }
    }

    /// Python's `yield from coroutine` (and `await`): run a coroutine inside
    /// an `async` body, yielding whatever it yields, and evaluate to its
    /// result. It is nothing more than a loop over `yield`.
    pub async fn yield_from<C>(&self, mut coroutine: C) -> C::Output
    where
        C: Coroutine<Yield = Y>,
    {
        loop {
            match coroutine.resume(self.now()) {
                Step::Yielded(value) => self.yield_value(value).await,
                Step::Complete(result) => return result,
            }
        }
    }
}

impl Yielder<f64> {
    /// `await sleep(duration)`, built from the hand-written [`Sleep`].
    pub async fn sleep(&self, duration: Duration) -> String {
        self.yield_from(Sleep::new(duration)).await
    }
}

/// The future returned by [`Yielder::yield_value`]: the first poll hands the
/// value over and answers `Pending`; the next poll, after the loop has
/// resumed us, is `Ready`.
#[must_use = "futures do nothing unless you `.await` them"]
pub struct YieldValue<'a, Y> {
    yielder: &'a Yielder<Y>,
    value: Option<Y>,
}

// The value is only ever moved out whole, never borrowed in place, so moving a
// `YieldValue` after it was first polled cannot break anything.
impl<Y> Unpin for YieldValue<'_, Y> {}

impl<Y> Future for YieldValue<'_, Y> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        match this.value.take() {
            Some(value) => {
                this.yielder.channel.yielded.set(Some(value));
                Poll::Pending
            }
            None => Poll::Ready(()),
        }
    }
}
// ANCHOR_END: yielder

impl<Y> Clone for Yielder<Y> {
    fn clone(&self) -> Self {
        Self {
            channel: Rc::clone(&self.channel),
        }
    }
}

impl<Y> Default for Yielder<Y> {
    fn default() -> Self {
        Self {
            channel: Rc::new(Channel {
                now: Cell::new(Duration::ZERO),
                yielded: Cell::new(None),
            }),
        }
    }
}

// ANCHOR: async_coroutine
/// A future, driven as a [`Coroutine`]: each resume is one `poll`.
pub struct AsyncCoroutine<F, Y = f64> {
    future: Pin<Box<F>>,
    yielder: Yielder<Y>,
}

impl<F: Future, Y> AsyncCoroutine<F, Y> {
    /// Build the future from a function that is handed its [`Yielder`]:
    /// `AsyncCoroutine::new(|co| async move { co.sleep(d).await; 42 })`.
    /// Like calling an `async def`, this runs none of the body yet.
    pub fn new(make: impl FnOnce(Yielder<Y>) -> F) -> Self {
        let yielder = Yielder::default();
        Self {
            future: Box::pin(make(yielder.clone())),
            yielder,
        }
    }
}

impl<F: Future, Y> Coroutine for AsyncCoroutine<F, Y> {
    type Yield = Y;
    type Output = F::Output;

    fn resume(&mut self, now: Duration) -> Step<Y, F::Output> {
        self.yielder.channel.now.set(now);
        // Stage 1 resumes every task every round, so nobody needs waking:
        // a Waker that does nothing is enough. Stage 4 gives it a real job.
        let waker = futures_task::noop_waker();
        match self.future.as_mut().poll(&mut Context::from_waker(&waker)) {
            Poll::Ready(value) => Step::Complete(value),
            Poll::Pending => match self.yielder.channel.yielded.take() {
                Some(value) => Step::Yielded(value),
                // Something other than our Yielder said Pending: no loop here
                // could ever wake it, so say so instead of waiting forever.
                None => panic!(
                    "the future returned Pending without yielding a value: \
                     only futures from its `Yielder` may suspend it"
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
        let mut coroutine = AsyncCoroutine::<_, f64>::new(move |_| async move { flag.set(true) });
        assert!(!ran.get());
        assert_eq!(coroutine.resume(Duration::ZERO), Step::Complete(()));
        assert!(ran.get());
    }

    #[test]
    fn guesses_travel_out_and_results_travel_in() {
        let mut coroutine = AsyncCoroutine::new(|co: Yielder| async move {
            let inner = co.sleep(Duration::from_secs(2)).await;
            format!("outer saw: {inner}")
        });
        assert_eq!(coroutine.resume(Duration::ZERO), Step::Yielded(2.0));
        assert_eq!(coroutine.resume(Duration::from_secs(1)), Step::Yielded(1.0));
        assert_eq!(
            coroutine.resume(Duration::from_secs(2)),
            Step::Complete("outer saw: Sleep 2 over".to_string())
        );
    }

    #[test]
    fn any_value_can_be_yielded() {
        let mut coroutine = AsyncCoroutine::new(|co: Yielder<&str>| async move {
            co.yield_value("wake me at noon").await;
            co.yield_value("and at one").await;
            "done"
        });
        assert_eq!(
            coroutine.resume(Duration::ZERO),
            Step::Yielded("wake me at noon")
        );
        assert_eq!(
            coroutine.resume(Duration::ZERO),
            Step::Yielded("and at one")
        );
        assert_eq!(coroutine.resume(Duration::ZERO), Step::Complete("done"));
    }

    #[test]
    #[should_panic(expected = "Pending without yielding")]
    fn pending_without_a_value_is_refused() {
        let mut coroutine = AsyncCoroutine::<_, f64>::new(|_| std::future::pending::<()>());
        coroutine.resume(Duration::ZERO);
    }
}
