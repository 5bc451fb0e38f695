//! Stage 3: waiting for file descriptors with `select` and `poll`.
//!
//! Stage 2's loop could wait for one thing only: time. Here a coroutine can
//! also say "wake me when this file descriptor is readable". The loop keeps
//! the descriptors it watches in a selector and, instead of sleeping until
//! the next timer, asks the kernel (`select(2)` or `poll(2)`) which
//! descriptors are ready, with the next timer's deadline as the timeout. A
//! pipe, a socket or a terminal is ready only when there is something to
//! read; a regular file always is, which is why real libraries read files
//! in threads.
//!
//! | module | what it holds | asyncio's name for it |
//! |---|---|---|
//! | [`selector`] | registrations, and the system call behind them | `selectors._BaseSelectorImpl` |
//! | [`select`] | waiting in `select(2)` | `SelectSelector` |
//! | [`poll`] | waiting in `poll(2)` | `PollSelector` |
//! | [`selector_loop`] | stage 2's loop, waiting in a selector | `BaseSelectorEventLoop`, `add_reader` |
//! | [`wakeup`] | waking the loop from another thread | the self-pipe, `call_soon_threadsafe` |
//! | [`events`] | coroutines that wait to read | `sock_recv`, the source's read event |
//! | [`scenarios`] | the source's program for this stage | |

pub mod events;
pub mod poll;
pub mod scenarios;
pub mod select;
pub mod selector;
pub mod selector_loop;
pub mod wakeup;

pub use events::{IoEvent, read, readable, sleep, sleep_until};
pub use selector::{Interest, SelectorError};
pub use selector_loop::SelectorLoop;
pub use wakeup::Remote;
