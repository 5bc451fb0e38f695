//! What every event loop offers, whatever it is made of.
//!
//! Mirrors `AbstractEventLoop` and `TimerHandle` in CPython's
//! `asyncio/events.py`: the interface that `BaseEventLoop` implements, and
//! that uvloop implements too, with entirely different insides. Here the
//! textbook [`EventLoop`](crate::EventLoop) implements it, and so does
//! chapter 2's [`FastEventLoop`](crate::fast::FastEventLoop); the coroutine
//! driver and the tests are written against it, so that both loops run the
//! same code and pass the same tests. (Bring the trait into scope to call
//! its methods: `use stage02_timed_events::AbstractEventLoop;`.)

use std::fmt;

use demo_support::Mark;

use crate::error::{CallbackPanic, LoopError};
use crate::running::RunState;
use crate::seconds::{Delay, Nanos, to_nanos, to_seconds};

// ANCHOR: abstract_event_loop
/// A scheduled callback that can be cancelled: asyncio's `TimerHandle`
/// interface. It shows as asyncio's `repr` does: `<TimerHandle when=1.5
/// created at src/main.rs:12:5>`.
pub trait TimerHandle: fmt::Display + 'static {
    /// The callback will not run, and is dropped now.
    fn cancel(&self);
    /// Whether `cancel` was called.
    fn cancelled(&self) -> bool;
    /// When a timer is due, in loop seconds; `None` if not a timer.
    fn when(&self) -> Option<f64>;
}

/// An event loop: asyncio's `AbstractEventLoop`, the part stage 2 builds.
pub trait AbstractEventLoop: Clone + Sized + 'static {
    /// What `call_soon`, `call_later` and `call_at` return.
    type Handle: TimerHandle;

    /// asyncio's `call_soon`: run `callback` in the next iteration, after
    /// every callback already queued. Never runs it here and now.
    #[track_caller]
    fn call_soon(&self, callback: impl FnOnce(&Self) + 'static) -> Result<Self::Handle, LoopError>;
    /// `call_at` for a time in nanoseconds: every timer is made here.
    #[track_caller]
    fn call_at_nanos(
        &self,
        when: Nanos,
        callback: impl FnOnce(&Self) + 'static,
    ) -> Result<Self::Handle, LoopError>;
    /// The loop's clock in whole nanoseconds: the time it computes with.
    fn now(&self) -> Nanos;

    /// asyncio's `call_later`: run `callback` `delay` from now, in float
    /// seconds or as a `Duration`. A zero or negative delay is due at once;
    /// one past what the clock can count, [`NEVER`](crate::seconds::NEVER).
    #[track_caller]
    fn call_later(
        &self,
        delay: impl Delay,
        callback: impl FnOnce(&Self) + 'static,
    ) -> Result<Self::Handle, LoopError> {
        let delay = delay.to_nanos().ok_or(LoopError::NotANumber)?;
        self.call_at_nanos(self.now().saturating_add(delay), callback)
    }

    /// asyncio's `call_at`: run `callback` when the loop's clock reads `when`.
    #[track_caller]
    fn call_at(
        &self,
        when: f64,
        callback: impl FnOnce(&Self) + 'static,
    ) -> Result<Self::Handle, LoopError> {
        let when = to_nanos(when).ok_or(LoopError::NotANumber)?;
        self.call_at_nanos(when, callback)
    }

    /// asyncio's `loop.time()`: the loop's clock, in seconds.
    fn time(&self) -> f64 {
        to_seconds(self.now())
    }

    /// asyncio's `run_forever`: iterate until `stop` is called.
    fn run_forever(&self) -> Result<(), LoopError>;
    /// One iteration, for a caller that steps the loop by hand (as tests
    /// do). Refused while the loop runs: an iteration inside an iteration
    /// would run callbacks out of turn.
    fn run_once(&self) -> Result<(), LoopError>;
    /// asyncio's `loop.close()`: refused while the loop runs; drops every
    /// pending callback; every later call that would schedule or run
    /// something answers [`LoopError::Closed`].
    fn close(&self) -> Result<(), LoopError>;
    /// How many timers are scheduled, cancelled ones included.
    fn scheduled_count(&self) -> usize;
    /// asyncio's `set_exception_handler`: who hears about callbacks that
    /// panic (and what else the loop reports). Without one, the report
    /// goes to standard error, `Exception in callback <handle>: <message>`
    /// for a panic (`CallbackPanic`'s `Display`).
    fn set_exception_handler(&self, handler: impl Fn(&Self, &CallbackPanic) + 'static);
    /// What the loop keeps about its own running; the methods below answer
    /// from it, the same for every loop.
    fn run_state(&self) -> &RunState;

    /// asyncio's `loop.stop()`: finish the current iteration, then return
    /// from `run_forever`. Called before `run_forever`, it makes the next run
    /// do exactly one iteration.
    fn stop(&self) {
        self.run_state().stopping.set(true);
    }
    /// asyncio's `is_running`.
    fn is_running(&self) -> bool {
        self.run_state().running.get()
    }
    /// asyncio's `is_closed`.
    fn is_closed(&self) -> bool {
        self.run_state().closed.get()
    }
    /// How many iterations the loop has made.
    fn iterations(&self) -> u64 {
        self.run_state().iterations.get()
    }
    /// asyncio's `set_debug`: report callbacks that run for longer than
    /// `slow_callback_duration` (see [`debug`](crate::debug)), and whatever
    /// later stages report in debug mode.
    fn set_debug(&self, enabled: bool) {
        self.run_state().debug.set(enabled);
    }
    /// asyncio's `get_debug`.
    fn get_debug(&self) -> bool {
        self.run_state().debug.get()
    }
    /// asyncio's `slow_callback_duration`, in seconds.
    fn slow_callback_duration(&self) -> f64 {
        to_seconds(self.run_state().slow_callback_duration.get())
    }
    /// Set `slow_callback_duration`: `NotANumber` for NaN; less than zero
    /// means zero (every callback is reported).
    fn set_slow_callback_duration(&self, duration: impl Delay) -> Result<(), LoopError> {
        let nanos = duration.to_nanos().ok_or(LoopError::NotANumber)?;
        self.run_state().slow_callback_duration.set(nanos.max(0));
        Ok(())
    }
    /// In debug mode, say what the running callback is, for the report if
    /// it turns out slow (a task's step names its task, as asyncio's
    /// `_format_handle` does); `describe` is called only in debug mode.
    fn describe_running(&self, describe: impl FnOnce() -> String) {
        let state = self.run_state();
        if state.debug.get() {
            *state.running_label.borrow_mut() = Some(describe());
        }
    }
    /// Add a mark to the loop's timeline, if it records one. The mark, and
    /// the time it is stamped with, are made only then: a loop without a
    /// timeline does nothing for it.
    fn record(&self, mark: impl FnOnce() -> Mark) {
        self.run_state().record(|| self.now(), mark);
    }
}
// ANCHOR_END: abstract_event_loop
