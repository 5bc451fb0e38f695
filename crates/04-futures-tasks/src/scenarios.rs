//! Scenarios 7 (a socket read, from the selector to the coroutine, step by
//! step), 9 (concurrency arithmetic) and 15 (don't synchronise by timing),
//! from the Stack Overflow question "How does asyncio enable parallel IO
//! waits?" and the threads beside it; 10 (the notifier), from
//! tryexceptpass's "Threaded Asynchronous Magic and How to Wield It"; and
//! 16 (threads race, tasks don't), from Bruce Merry's PyCon ZA 2018 talk:
//! functions the demo, the tests and the book all run. Each writes what it
//! prints to a [`Transcript`].

mod blocking;
mod chunked_response;
mod count;
mod inspect;
mod notifier;
mod race;
mod socket_chain;

pub use blocking::{BLOCKS_FOR, blocking_in_a_task, blocking_in_the_pool};
pub use chunked_response::{CHUNKS, End, NAP, Received, chunked_response, delays, serve};
pub use count::{concurrency_arithmetic, count};
pub use inspect::where_tasks_wait;
pub use notifier::notifier;
pub use race::{INCREMENTS, WORKERS, lost_update, tasks_do_not_race, threads_race};
pub use socket_chain::{RECV_MAX, SEND_AT, SENT, socket_chain};

use std::fmt;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};

use demo_support::{Timeline, Transcript};
use stage01_generator_loop::Clock;
use stage02_timed_events::{AbstractEventLoop, LoopError};
use stage03_read_readiness::{PollSelector, SelectorEventLoop, SelectorEvents};

use crate::runners::RunError;
use crate::sock::SockError;

/// Whether every loop the scenarios make runs in debug mode (the demo's
/// `--debug`), as well as those `ASYNCIO_DEBUG` puts in it.
static DEBUG: AtomicBool = AtomicBool::new(false);

/// Run every scenario's loop in debug mode from now on (`--debug`).
pub fn set_debug(enabled: bool) {
    DEBUG.store(enabled, Ordering::Relaxed);
}

/// Whether the loops the scenarios make run in debug mode (`--debug`, or
/// `ASYNCIO_DEBUG`): asked of a loop made to answer it.
pub fn loops_in_debug_mode() -> bool {
    new_loop(stage01_generator_loop::VirtualClock::new())
        .is_ok_and(|event_loop| event_loop.get_debug())
}

/// A loop on `clock`, waiting in `poll(2)`; in debug mode if asked.
fn new_loop(clock: impl Clock + 'static) -> Result<SelectorEventLoop, RunError> {
    let event_loop = SelectorEventLoop::with_selector(clock, PollSelector::new())
        .map_err(|error| RunError::Loop(LoopError::Poll(std::io::Error::other(error))))?;
    if DEBUG.load(Ordering::Relaxed) {
        event_loop.set_debug(true);
    }
    Ok(event_loop)
}

/// Stamp `text` with the loop's time and iteration.
fn stamp(out: &Transcript, event_loop: &SelectorEventLoop, text: &str) {
    stamp_at(out, event_loop.time(), event_loop.iterations(), text);
}

/// Stamp `text` with a time and an iteration noted earlier.
fn stamp_at(out: &Transcript, time: f64, iteration: u64, text: &str) {
    out.say(format!("{time:7.3}  iteration {iteration}: {text}"));
}

/// Why a scenario stopped.
#[derive(Debug)]
pub enum ScenarioError {
    /// The loop, or the task run to completion, failed.
    Run(RunError),
    /// The socket pair could not be made.
    Io(io::Error),
    /// `sock_recv` failed.
    Sock(SockError),
}

/// Every scenario in turn, each on a fresh clock from `new_clock`; scenario
/// 7's chain recorded on `chain`, scenario 9's five tasks on `counts`.
pub fn run_all<C: Clock + Clone + 'static>(
    new_clock: impl Fn() -> C,
    out: &Transcript,
    chain: &Timeline,
    counts: &Timeline,
) -> Result<(), ScenarioError> {
    socket_chain(new_clock(), out, chain)?;
    out.say("");
    concurrency_arithmetic(&new_clock, out, counts)?;
    out.say("");
    chunked_response(&new_clock, out)?;
    out.say("");
    out.say("Scenario 11: a task calls a blocking function (debug mode on)");
    blocking_in_a_task(new_clock(), out)?;
    out.say("");
    out.say("Scenario 14: what every task awaits, and where");
    where_tasks_wait(new_clock(), out)?;
    Ok(())
}

/// Scenarios 10 and 16, on real threads: the notifier, then the race,
/// whose threads' count is whatever this machine's threads managed.
pub fn run_threads(out: &Transcript) -> Result<(), ScenarioError> {
    out.say("Scenario 10: a handler hands notifications to a loop in a worker thread");
    notifier(out)?;
    out.say("");
    out.say("Scenario 11: the same blocking function, in the loop's pool (debug mode on)");
    blocking_in_the_pool(out)?;
    out.say("");
    out.say("Scenario 16: threads race, tasks don't");
    let expected = WORKERS as u64 * INCREMENTS;
    let by_threads = threads_race(WORKERS, INCREMENTS);
    out.say(format!(
        "{WORKERS} threads, {INCREMENTS} increments each: counted {by_threads} ({} lost)",
        expected - by_threads
    ));
    let by_tasks = tasks_do_not_race(
        stage01_generator_loop::VirtualClock::new(),
        WORKERS,
        INCREMENTS,
        1_000,
    )?;
    out.say(format!(
        "{WORKERS} tasks,   {INCREMENTS} increments each: counted {by_tasks} ({} lost)",
        expected - by_tasks
    ));
    Ok(())
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScenarioError::Run(error) => write!(f, "{error}"),
            ScenarioError::Io(error) => write!(f, "the socket pair could not be made: {error}"),
            ScenarioError::Sock(error) => write!(f, "{error}"),
        }
    }
}

impl std::error::Error for ScenarioError {}

impl From<LoopError> for ScenarioError {
    fn from(error: LoopError) -> Self {
        ScenarioError::Run(RunError::Loop(error))
    }
}

impl From<RunError> for ScenarioError {
    fn from(error: RunError) -> Self {
        ScenarioError::Run(error)
    }
}

impl From<io::Error> for ScenarioError {
    fn from(error: io::Error) -> Self {
        ScenarioError::Io(error)
    }
}

impl From<SockError> for ScenarioError {
    fn from(error: SockError) -> Self {
        ScenarioError::Sock(error)
    }
}
