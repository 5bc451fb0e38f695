//! Stage 5: cancellation.
//!
//! A task is told to stop; the stop arrives at the `.await` where it is
//! suspended, as an `Err(Cancelled)` that ordinary control flow handles:
//! `?` passes it on, a `match` cleans up (awaiting, if it must) or refuses
//! it. The task ends cancelled only if the cancellation comes out of it.
//!
//! | module | what it holds | asyncio's name for it |
//! |---|---|---|
//! | [`tasks`] | a task that can be cancelled | `Task.cancel`, `cancelling`, `uncancel` (tasks.py) |
//! | [`sleep`](mod@sleep) | awaits where a cancellation lands | `sleep`, `__sleep0` |
//! | [`gather`](mod@gather) | several at once, cancelled together | `gather`, `_GatheringFuture` |
//! | [`shield`](mod@shield) | work its awaiter's cancellation does not reach | `shield` |
//! | [`taskgroups`] | tasks that fail, and are cancelled, together | `TaskGroup` (taskgroups.py) |
//! | [`timeouts`] | cancellation driven by a timer | `wait_for`, `timeout`, `Timeout` (timeouts.py) |
//! | [`threadsafe`] | a coroutine handed over from another thread, and cancelled from there | `run_coroutine_threadsafe`, `_chain_future` |
//! | [`signals`] | signals, handled by the loop as callbacks | `add_signal_handler`, `remove_signal_handler` (unix_events.py) |
//! | [`runners`] | main run to completion; Ctrl-C cancels it, and every task cleans up | `Runner`, `run`, `_cancel_all_tasks` (runners.py) |
//! | [`testing`] | time-dependent code tested on a clock the test moves by hand | asynctest's `ClockedTestCase.advance` |
//! | [`fast`] | making it fast: the same awaits with less in between | |
//! | [`scenarios`] | scenario 12, cancel safety, the anti-pattern, how a cancellation travels, scenario 8 (pi, stopped cleanly) | |

pub mod fast;
pub mod gather;
pub mod runners;
pub mod scenarios;
pub mod shield;
pub mod signals;
pub mod sleep;
pub mod taskgroups;
pub mod tasks;
pub mod testing;
pub mod threadsafe;
pub mod timeouts;

pub use gather::{Gathered, gather, gather_return_exceptions};
pub use runners::{Runner, RunnerError, run};
pub use shield::shield;
pub use signals::{SignalError, add_signal_handler, remove_signal_handler};
pub use sleep::yield_now;
pub use taskgroups::{TaskGroup, TaskGroupError, group_errors};
pub use tasks::{CurrentTask, EnsureFuture, Task, all_tasks, create_task, current_task};
pub use testing::{AdvanceError, ClockedLoop};
pub use threadsafe::run_coroutine_threadsafe;
pub use timeouts::{TimeoutError, is_timeout};

#[cfg(feature = "fast")]
use fast as chosen;
/// The sleep and the timeouts the crate's tasks await: the textbook ones,
/// or with the `fast` feature the fast ones (same API; see [`fast`]).
#[cfg(not(feature = "fast"))]
mod chosen {
    pub use crate::sleep::sleep;
    pub use crate::timeouts::{Timeout, timeout, timeout_at, wait_for};
}

pub use chosen::{Timeout, sleep, timeout, timeout_at, wait_for};
