//! What can go wrong with a loop: one error type, and the report of a
//! callback that panicked.
//!
//! Mirrors the `RuntimeError`s of CPython's `asyncio/base_events.py`
//! ("Event loop is closed", "This event loop is already running", ...),
//! and, where asyncio would block for ever, our refusal to.

use std::fmt;

/// Why the loop refused a call, or could not go on.
#[derive(Debug)]
pub enum LoopError {
    /// asyncio's "Event loop is closed": after `close`, or once the loop's
    /// owner was dropped.
    Closed,
    /// `run_forever` or `run_once` while the loop is already running.
    AlreadyRunning,
    /// `run_forever` while another loop runs in this thread.
    AnotherLoopRunning,
    /// `close` while the loop is running.
    CloseWhileRunning,
    /// `get_running_loop` with no loop of that kind running in this thread.
    NoRunningLoop,
    /// A delay or time of NaN seconds.
    NotANumber,
    /// Nothing is ready, nothing is scheduled, and nothing could ever
    /// schedule anything: waiting would never end.
    NothingToWaitFor,
    /// The loop was stopped before the coroutine it ran to completion was done.
    StoppedBeforeComplete,
    /// A task's coroutine panicked.
    TaskPanicked {
        /// The task's name.
        task: String,
        /// The panic message, if it was a string.
        message: String,
    },
    /// Waiting for events failed (stage 3's `select`, say).
    Poll(std::io::Error),
}

impl fmt::Display for LoopError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoopError::Closed => write!(f, "the event loop is closed"),
            LoopError::AlreadyRunning => write!(f, "this event loop is already running"),
            LoopError::AnotherLoopRunning => write!(
                f,
                "cannot run the event loop while another loop is running in this thread"
            ),
            LoopError::CloseWhileRunning => write!(f, "cannot close a running event loop"),
            LoopError::NoRunningLoop => {
                write!(f, "no event loop of this kind is running in this thread")
            }
            LoopError::NotANumber => write!(f, "a delay or time of NaN seconds means nothing"),
            LoopError::NothingToWaitFor => write!(
                f,
                "nothing is ready or scheduled, and nothing could wake the loop: it would wait forever"
            ),
            LoopError::StoppedBeforeComplete => {
                write!(f, "the event loop stopped before the coroutine completed")
            }
            LoopError::TaskPanicked { task, message } => {
                write!(f, "task {task} panicked: {message}")
            }
            LoopError::Poll(error) => write!(f, "waiting for events failed: {error}"),
        }
    }
}

impl std::error::Error for LoopError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            LoopError::Poll(error) => Some(error),
            _ => None,
        }
    }
}

/// A callback that panicked, as the loop reports it to its exception handler.
#[derive(Debug, Clone, PartialEq)]
pub struct CallbackPanic {
    /// The handle's description: what it was and where it was made.
    pub handle: String,
    /// The panic message, if it was a string.
    pub message: String,
}
