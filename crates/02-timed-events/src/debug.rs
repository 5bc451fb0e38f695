//! Debug mode: reporting a callback that held the loop too long.
//!
//! Mirrors asyncio's debug mode (`loop.set_debug(True)`, or the environment
//! variable `PYTHONASYNCIODEBUG`; here `ASYNCIO_DEBUG`): in `_run_once`,
//! each handle is timed, and one that ran for `slow_callback_duration` (0.1
//! s) or more is reported, "Executing <Handle ...> took 0.512 seconds".
//! asyncio's `_format_handle` names the task, not the handle, when the
//! callback is a task's step; here a step names itself with
//! [`describe_running`](crate::AbstractEventLoop::describe_running). The
//! report goes to the loop's exception handler (asyncio logs a warning), so
//! that one handler hears every debug report. The textbook loop times its
//! callbacks; the fast loop does not.

use std::fmt;

use crate::abstract_loop::AbstractEventLoop;
use crate::error::{CallbackPanic, ReportKind};
use crate::event_loop::EventLoop;
use crate::poller::Poller;
use crate::seconds::{Nanos, to_seconds};

pub use crate::running::{SLOW_CALLBACK_DURATION, debug_from_env};

impl<P: Poller> EventLoop<P> {
    // ANCHOR: report_if_slow
    /// Report `handle` if it ran for `took` or longer than the loop's
    /// `slow_callback_duration`, naming it as the callback described itself
    /// (a task's step names its task), else as the handle.
    pub(crate) fn report_if_slow(&self, handle: &impl fmt::Display, took: Nanos) {
        let state = self.run_state();
        let described = state.running_label.take();
        if took < state.slow_callback_duration.get() {
            return;
        }
        let what = described.unwrap_or_else(|| handle.to_string());
        let message = format!("Executing {what} took {:.3} seconds", to_seconds(took));
        self.call_exception_handler(&CallbackPanic {
            handle: what,
            message,
            kind: ReportKind::Warning,
        });
    }
    // ANCHOR_END: report_if_slow
}
