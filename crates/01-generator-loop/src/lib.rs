//! Stage 1: a loop that runs resumable coroutines and sleeps by guessing.
//!
//! A coroutine is a function that can stop half-way and be resumed later
//! ([`Coroutine`]). When resumed it answers either "not ready, try me again in
//! about N seconds" or "complete, here is my value" ([`Step`]). The loop
//! ([`GuessingLoop`]) resumes every task once per round and then sleeps for the
//! smallest guess. Chapter 1 of the book walks through every module here.
//!
//! | module | what it holds | Python's name for it |
//! |---|---|---|
//! | [`coroutine`] | the resume protocol | `gen.send`, `StopIteration.value` |
//! | [`clock`] | real and virtual time | `loop.time()`, `time.sleep` |
//! | [`sleep`] | a coroutine written by hand | a generator function |
//! | [`composition`] | one coroutine inside another | `yield from`, `await` |
//! | [`async_coroutine`] | an `async` block as a coroutine | `__await__`, `coro.send(None)` |
//! | [`one_channel`] | the blog post's leaky first loop | generators before PEP 380 |
//! | [`guessing_loop`] | the loop | the toy `run(tasks)`; asyncio's `run_forever` |
//! | [`scenarios`] | scenarios 1 to 3, from "A little example of how Asyncio works" | |

pub mod async_coroutine;
pub mod clock;
pub mod composition;
pub mod coroutine;
pub mod guessing_loop;
pub mod one_channel;
pub mod scenarios;
pub mod sleep;

pub use async_coroutine::{AsyncCoroutine, Yielder};
pub use clock::{Clock, RealClock, VirtualClock};
pub use coroutine::{Coroutine, Step};
pub use guessing_loop::{Completed, GuessError, GuessingLoop, LoopError, Stats, TaskId};
pub use sleep::Sleep;
