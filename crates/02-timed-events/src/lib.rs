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
//! | [`schedule`] | a sorted list and a heap of wake-up times | `_scheduled`, `heapq` |
//! | [`schedule_loop`] | coroutines on a schedule, no callbacks | the naive loop of the Stack Overflow question |
//! | [`handle`] | a cancellable scheduled callback | `Handle`, `TimerHandle` |
//! | [`poller`] | how the loop waits | `selector.select(timeout)` |
//! | [`error`] | what can go wrong | the loop's `RuntimeError`s |
//! | [`abstract_loop`] | what every loop offers | `AbstractEventLoop`, `TimerHandle` |
//! | [`event_loop`] | the callback loop | `BaseEventLoop`, `_run_once` |
//! | [`debug`] | reporting a callback that held the loop too long | debug mode, `slow_callback_duration` |
//! | [`running`] | the loop running in this thread | `get_running_loop` |
//! | [`driver`] | coroutines on the callback loop | `Task.__step` |
//! | [`scenarios`] | scenarios 4 and 9 | |
//! | [`fast`] | a schedule for a million timers (chapter 2, "Making it fast") | |

pub mod abstract_loop;
pub mod debug;
pub mod driver;
pub mod error;
pub mod event_loop;
pub mod fast;
pub mod handle;
pub mod poller;
pub mod running;
pub mod scenarios;
pub mod schedule;
pub mod schedule_loop;
pub mod seconds;

pub use abstract_loop::{AbstractEventLoop, TimerHandle};
pub use driver::{Event, RunCoroutines, SleepUntil, asleep, sleep, sleep_until, spawn};
pub use error::{CallbackPanic, LoopError, ReportKind};
pub use event_loop::{EventLoop, ReservedTimer};
pub use handle::{Callback, Handle};
pub use poller::{Poller, Sleeper};
pub use running::{RunState, get_running_loop};
