//! Stage 2: a schedule of wake-up times, and the callback event loop.
//!
//! Stage 1's loop asked every task "are you ready yet?" and slept for the
//! smallest guess. Here a coroutine says *when* it wants to run again, and the
//! loop keeps a schedule ordered by that time: it sleeps exactly until the
//! earliest entry and resumes only what is due. Grown into `call_soon` and
//! `call_later`, that schedule is asyncio's callback loop, on which every later
//! stage is built.
//!
//! | module | what it holds | asyncio's name for it |
//! |---|---|---|
//! | [`seconds`] | float seconds in, exact nanoseconds inside | `loop.time()` |
//! | [`timer_queue`] | a sorted list, a heap and a radix heap of wake-up times | `_scheduled`, `heapq` |
//! | [`schedule_loop`] | coroutines on a schedule, no callbacks | the source's naive loop |
//! | [`handle`] | a cancellable scheduled callback | `Handle`, `TimerHandle` |
//! | [`callbacks`] | the table every pending callback lives in | (one object per handle) |
//! | [`poller`] | how the loop waits | `selector.select(timeout)` |
//! | [`event_loop`] | the callback loop | `BaseEventLoop`, `_run_once` |
//! | `prefetch` | fetching the next timers' memory early | |
//! | [`driver`] | coroutines on the callback loop | `Task.__step` |
//! | [`scenarios`] | the source's programs | |

pub mod callbacks;
pub mod driver;
pub mod event_loop;
pub mod handle;
pub mod poller;
mod prefetch;
pub mod scenarios;
pub mod schedule_loop;
pub mod seconds;
pub mod timer_queue;

pub use driver::{SleepUntil, asleep, sleep, sleep_until, spawn};
pub use event_loop::{CallbackPanic, EventLoop, LoopError};
pub use handle::Handle;
pub use poller::{Poller, Ready};
