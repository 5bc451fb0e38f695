//! What can go wrong with a loop: one error type, and what the loop
//! reports to its exception handler (a callback that panicked, first).
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

/// What the loop reports to its exception handler: a callback that
/// panicked, and (from stage 4 on) a future or task reported as it goes, or
/// a callback that held the loop too long, as asyncio's handler is handed a
/// `context` with a message and what it is about.
#[derive(Debug, Clone, PartialEq)]
pub struct CallbackPanic {
    /// What it is about: the handle, future or task, and where it was made.
    pub handle: String,
    /// The panic message, if it was a string; else what happened.
    pub message: String,
    /// Which kind of report it is.
    pub kind: ReportKind,
}

/// The kinds of report, each printed its own way by the default handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportKind {
    /// A callback panicked; `message` is the panic's.
    Panicked,
    /// A future or task (asyncio's context key: `future`, `task`) reported
    /// as it goes; `message` says why.
    About(&'static str),
    /// A warning whose message names what it is about (debug mode's slow
    /// callback, which asyncio logs as a warning).
    Warning,
}

impl CallbackPanic {
    /// The report of the callback `handle`, which panicked with `message`.
    pub fn panicked(handle: String, message: String) -> Self {
        Self {
            handle,
            message,
            kind: ReportKind::Panicked,
        }
    }
}

/// What asyncio's `default_exception_handler` would log for it.
impl fmt::Display for CallbackPanic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (handle, message) = (&self.handle, &self.message);
        match self.kind {
            ReportKind::Panicked => write!(f, "Exception in callback {handle}: {message}"),
            ReportKind::About(key) => write!(f, "{message}\n{key}: {handle}"),
            ReportKind::Warning => write!(f, "{message}"),
        }
    }
}
