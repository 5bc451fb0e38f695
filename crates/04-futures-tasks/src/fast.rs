//! Making it fast: tasks in one allocation, wakes that allocate nothing.
//!
//! The same API as [`tasks`](crate::tasks) (`create_task`, [`Task`],
//! `current_task`, `all_tasks`), built for speed beside the textbook
//! version, which stays as it is. The `fast` feature makes these the
//! crate's `create_task` and `Task`, so that every test of the crate runs
//! on them too (`cargo test -p stage04-futures-tasks --features fast`); the
//! benchmarks measure both in one run. Chapter 4's "Making it fast" tells
//! what each piece saves.
//!
//! | module | what it changes |
//! |---|---|
//! | `task` | the task, its coroutine inline, its future made on demand |
//! | `key` | what names a task from anywhere: loop, slot, tag, in one word |
//! | `waker` | a waker that is that word, not an `Arc` |
//! | `remotes` | how a waker on another thread reaches the loop |
//! | `scheduler` | one drain handle queued again per wake, instead of a new handle |

mod key;
mod remotes;
mod scheduler;
mod task;
mod waker;

#[cfg_attr(not(feature = "fast"), allow(unused_imports))]
pub(crate) use task::take_result;
pub use task::{
    AwaitingTask, Task, all_tasks, create_fallible_task, create_task, current_task,
    keep_done_tasks, task_table,
};
