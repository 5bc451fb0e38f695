//! Scenarios 7 (a future and the task that awaits it, step by step), 9
//! (concurrency arithmetic) and 15 (don't synchronise by timing), from the
//! Stack Overflow question "How does asyncio enable parallel IO waits?" and
//! the threads beside it, as functions the demo, the tests and the book all
//! run. Each writes what it prints to a [`Transcript`].

mod chunked_response;
mod count;
mod future_chain;

pub use chunked_response::{CHUNKS, End, NAP, Received, chunked_response, delays, serve};
pub use count::{concurrency_arithmetic, count};
pub use future_chain::future_chain;

use demo_support::{Timeline, Transcript};
use stage01_generator_loop::Clock;
use stage02_timed_events::{AbstractEventLoop, LoopError};
use stage03_read_readiness::{PollSelector, SelectorEventLoop, SelectorEvents};

use crate::runners::RunError;

/// A loop on `clock`, waiting in `poll(2)`.
fn new_loop(clock: impl Clock + 'static) -> Result<SelectorEventLoop, RunError> {
    SelectorEventLoop::with_selector(clock, PollSelector::new())
        .map_err(|error| RunError::Loop(LoopError::Poll(std::io::Error::other(error))))
}

/// Stamp `text` with the loop's time and iteration.
fn stamp(out: &Transcript, event_loop: &SelectorEventLoop, text: &str) {
    let iteration = event_loop.iterations();
    out.say(format!(
        "{:7.3}  iteration {iteration}: {text}",
        event_loop.time()
    ));
}

/// Every scenario in turn, each on a fresh clock from `new_clock`; scenario
/// 9's five tasks recorded on `timeline`.
pub fn run_all<C: Clock + 'static>(
    new_clock: impl Fn() -> C,
    out: &Transcript,
    timeline: &Timeline,
) -> Result<(), RunError> {
    future_chain(new_clock(), out)?;
    out.say("");
    concurrency_arithmetic(&new_clock, out, timeline)?;
    out.say("");
    chunked_response(&new_clock, out)
}
