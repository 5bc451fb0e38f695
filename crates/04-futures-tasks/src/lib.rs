//! Stage 4: futures, tasks and wakers on the selector loop.
//!
//! Until now a coroutine yielded events to a driver that knew each kind.
//! From here on a coroutine is an ordinary Rust `async` block, and it awaits
//! *futures*: results that arrive later. A task drives one coroutine; when
//! the coroutine awaits a future that is not done, the task leaves its
//! wake-up there and sleeps, and the future's completion queues the task's
//! next step on the loop. In Rust the wake-up is the `Waker`.
//!
//! | module | what it holds | asyncio's name for it |
//! |---|---|---|
//! | [`futures`] | a result that arrives later | `Future` (futures.py) |
//! | [`tasks`] | a coroutine driven by the loop | `Task`, `create_task` (tasks.py) |
//! | [`gather`](mod@gather) | waiting for several at once | `gather`, `wait`, `as_completed` |
//! | `wake` | a task's wake-up, as a `Waker` | `Task.__wakeup` |
//! | [`sleep`](mod@sleep) | sleeping on a future and a timer | `sleep`, `__sleep0` |
//! | [`sock`] | reading a socket through a future | `sock_recv` (selector_events.py) |
//! | [`locks`] | tasks waiting for each other | `Event`, `Lock`, `Semaphore`, `Condition` (locks.py) |
//! | [`queues`] | items passed from producers to consumers | `Queue` (queues.py) |
//! | [`concurrent`] | a future threads share | `concurrent.futures.Future` |
//! | [`executor`] | blocking functions on a pool of threads | `ThreadPoolExecutor`, `run_in_executor` |
//! | [`threadsafe`] | a coroutine handed to a loop from another thread | `run_coroutine_threadsafe` |
//! | [`loop_thread`] | a loop running for ever in a worker thread | `Thread(target=loop.run_forever)` |
//! | [`monitor`] | what every task awaits, and where | aiomonitor's `ps` and `where` |
//! | [`runners`] | running a coroutine to completion | `run_until_complete`, `asyncio.run` |
//! | [`fast`] | making it fast: the same tasks in one allocation each | |
//! | [`scenarios`] | scenarios 7, 9 and 15 of the source material | |

pub mod concurrent;
pub mod executor;
pub mod fast;
pub mod futures;
pub mod gather;
pub mod locks;
pub mod loop_thread;
pub mod monitor;
pub mod queues;
pub mod runners;
pub mod scenarios;
pub mod sleep;
pub mod sock;
pub mod tasks;
pub mod threadsafe;
mod wake;

pub use concurrent::{ConcurrentError, ConcurrentFuture};
pub use executor::{FunctionPanicked, ShutDown, ThreadPoolExecutor, run_in_executor};
pub use futures::{CallbackId, Future, FutureError, Outcome};
pub use gather::{
    AsCompleted, Awaitable, Gathered, ReturnWhen, as_completed, gather, gather_return_exceptions,
    wait,
};
pub use locks::{
    BoundedSemaphore, Condition, Event, Lock, LockGuard, NotAcquired, ReleasedTooManyTimes,
    Semaphore, SemaphoreGuard,
};
pub use loop_thread::LoopThread;
pub use monitor::{Cancel, Suspension};
pub use queues::{Queue, QueueEmpty, QueueFull, TaskDoneTooManyTimes};
pub use runners::{IntoTask, RunError, run, run_until_complete, task_outcome};
pub use sleep::{sleep, yield_now};
pub use sock::{SockError, sock_recv};
pub use tasks::{TaskId, TaskInfo, TaskPanicked, TaskRow, TaskState};
pub use threadsafe::{Answer, hand_over, make_coroutine, run_coroutine_threadsafe};

#[cfg(feature = "fast")]
use fast as chosen;
/// The tasks the crate runs on: the textbook ones, or with the `fast`
/// feature the fast ones (same API; see [`fast`]).
#[cfg(not(feature = "fast"))]
use tasks as chosen;

pub(crate) use chosen::take_result;
pub use chosen::{
    Task, all_tasks, create_fallible_task, create_task, current_task, keep_done_tasks, task_table,
};
