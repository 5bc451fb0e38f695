//! Stage 3: waiting for file descriptors with `select` and `poll`.
//!
//! Stage 2's loop could wait for one thing only: time. Here a coroutine can
//! also say "wake me when this file descriptor is readable" (or writable).
//! The loop keeps the descriptors it watches in a selector and, instead of
//! sleeping until the next timer, asks the kernel (`select(2)` or `poll(2)`)
//! which descriptors are ready, with the next timer's deadline as the
//! timeout. A pipe, a socket or a terminal is ready only when there is
//! something to read; a regular file always is, which is why real libraries
//! read files in threads.
//!
//! | module | what it holds | asyncio's name for it |
//! |---|---|---|
//! | [`selector`] | registrations, and the system call behind them | `selectors.BaseSelector` |
//! | [`select`] | waiting in `select(2)` | `SelectSelector` |
//! | [`poll`] | waiting in `poll(2)` | `PollSelector` |
//! | [`selector_events`] | stage 2's loop, waiting in a selector | `BaseSelectorEventLoop`, `add_reader` |
//! | [`self_pipe`] | waking the loop from another thread | the self-pipe, `call_soon_threadsafe` |
//! | [`events`] | coroutines that wait to read or write | `sock_recv`, the read event |
//! | [`busy_poll`] | making it fast: looking less often while callbacks wait | |
//! | [`scenarios`] | scenario 5, from "How does asyncio enable parallel IO waits?" | |

pub mod busy_poll;
pub mod events;
pub mod poll;
pub mod scenarios;
pub mod select;
pub mod selector;
pub mod selector_events;
pub mod self_pipe;

pub use busy_poll::BusyPoll;
pub use events::{IoEvent, read, readable, writable};
pub use poll::PollSelector;
pub use select::SelectSelector;
pub use selector::{Interest, Selector, SelectorError};
pub use selector_events::{SelectorEventLoop, SelectorEvents, SelectorPoller};
pub use self_pipe::{Remote, WakeUp};
