//! A resumable function: Python's generator protocol, made explicit.
//!
//! Mirrors CPython's generator object (`Objects/genobject.c`: `gen.send`, and
//! the `StopIteration.value` that carries a generator's `return` value, PEP 380).
//! A coroutine is resumed with the current time and answers one of two things:
//! "I stopped at a `yield`, and here is what I yield" or "complete, here is my
//! value". Nothing else: it cannot block, and it keeps all of its state in
//! `self` between resumes, which is exactly what a generator frame does.
//!
//! What a coroutine yields is up to the loop that runs it. In this stage it is
//! a guess, "not ready, try me again in about this many seconds"; stage 2's
//! coroutines yield events such as "wake me at time T".

use std::time::Duration;

// ANCHOR: step
/// What a coroutine answers when it is resumed.
///
/// Python spells these `yield value` and `return value` (the value travels
/// in `StopIteration.value`). Rust needs no exception: the answer is a value.
/// (Nightly Rust's own `Coroutine` trait answers the same two variants.)
#[derive(Debug, Clone, PartialEq)]
pub enum Step<Y, T> {
    /// "Suspended at a `yield`: here is what I yield to the loop."
    Yielded(Y),
    /// "Done: here is my result." The coroutine must not be resumed again.
    Complete(T),
}
// ANCHOR_END: step

// ANCHOR: coroutine
/// A computation that runs in steps, keeping its state between them.
///
/// `resume` is Python's `gen.send(now)`: run until the next suspension point,
/// then report why it stopped.
pub trait Coroutine {
    /// What the coroutine hands the loop each time it suspends. Stage 1's
    /// loop takes an `f64`: a guess in seconds, as in Python, so that a
    /// coroutine can answer nonsense (NaN, infinity, a negative number) and
    /// the loop has to decide what that means.
    type Yield;
    /// What the coroutine produces when it completes.
    type Output;

    /// Run one step. `now` is the loop's clock, so a coroutine never reads a
    /// clock of its own and a virtual clock drives it as well as a real one.
    fn resume(&mut self, now: Duration) -> Step<Self::Yield, Self::Output>;
}
// ANCHOR_END: coroutine
