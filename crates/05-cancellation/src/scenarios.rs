//! The stage 5 scenarios: functions the demo, the tests and the book all
//! run. Each writes what it prints to a [`Transcript`].

mod cancel_safety;
mod pi;
mod server;
mod shared_future;
mod testing_time;
mod travel;

pub use cancel_safety::{Keeps, half_a_line};
pub use pi::{
    PiSettings, VIRTUAL_TERM_NANOS, approximate_pi, leading_digits, next_ticks, settled_digits,
};
pub use server::{FAREWELL, Stop, server_shutdown};
pub use shared_future::{WaitOn, waiters_of_one_signal};
pub use testing_time::clocked_timeout;
pub use travel::cancellation_travels;

use std::fmt;

use demo_support::Transcript;
use stage01_generator_loop::Clock;
use stage02_timed_events::{AbstractEventLoop, LoopError};
use stage03_read_readiness::{PollSelector, SelectorEventLoop, SelectorEvents};
use stage04_futures_tasks::{FutureError, RunError};

/// A loop on `clock`, waiting in `poll(2)`.
fn new_loop(clock: impl Clock + 'static) -> Result<SelectorEventLoop, ScenarioError> {
    SelectorEventLoop::with_selector(clock, PollSelector::new())
        .map_err(|error| ScenarioError::Loop(LoopError::Poll(std::io::Error::other(error))))
}

/// Say `text` at the loop's time.
fn stamp(out: &Transcript, event_loop: &SelectorEventLoop, text: &str) {
    out.say(format!("{:6.3}  {text}", event_loop.time()));
}

/// Why a scenario stopped.
#[derive(Debug)]
pub enum ScenarioError {
    /// The loop refused, or failed.
    Loop(LoopError),
    /// The task run to completion failed.
    Run(RunError),
    /// The scenario's main task ended with an error of its own.
    Main(FutureError),
    /// A socket of the scenario failed.
    Io(std::io::Error),
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScenarioError::Loop(error) => write!(f, "the loop failed: {error}"),
            ScenarioError::Run(error) => write!(f, "the scenario failed: {error}"),
            ScenarioError::Main(error) => write!(f, "the scenario's main task ended: {error}"),
            ScenarioError::Io(error) => write!(f, "a socket failed: {error}"),
        }
    }
}

impl std::error::Error for ScenarioError {}

impl From<LoopError> for ScenarioError {
    fn from(error: LoopError) -> Self {
        ScenarioError::Loop(error)
    }
}

impl From<RunError> for ScenarioError {
    fn from(error: RunError) -> Self {
        ScenarioError::Run(error)
    }
}
