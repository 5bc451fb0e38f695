//! A resumable function: Python's generator protocol, made explicit.
//!
//! Mirrors CPython's generator object (`Objects/genobject.c`: `gen.send`, and
//! the `StopIteration.value` that carries a generator's `return` value, PEP 380).
//! A coroutine is resumed with the current time and answers one of two things:
//! "not ready, try me again in about this many seconds" or "complete, here is
//! my value". Nothing else: it cannot block, and it keeps all of its state in
//! `self` between resumes, which is exactly what a generator frame does.

use std::time::Duration;

// ANCHOR: step
/// What a coroutine answers when it is resumed.
///
/// Python spells these `yield guess` and `return value` (the value travels
/// in `StopIteration.value`). Rust needs no exception: the answer is a value.
#[derive(Debug, Clone, PartialEq)]
pub enum Step<T> {
    /// "Not ready: resume me again in about this many seconds."
    ///
    /// A plain `f64`, as in Python, so that a coroutine can answer nonsense
    /// (NaN, infinity, a negative number); the loop decides what that means.
    NotReady(f64),
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
    /// What the coroutine produces when it completes.
    type Output;

    /// Run one step. `now` is the loop's clock, so a coroutine never reads a
    /// clock of its own and a virtual clock drives it as well as a real one.
    fn resume(&mut self, now: Duration) -> Step<Self::Output>;
}
// ANCHOR_END: coroutine
