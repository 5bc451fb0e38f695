//! Running a program on stage 6's loop: one loop, or one loop per core.
//!
//! [`run`] is asyncio's `asyncio.run` (CPython's `asyncio/runners.py`)
//! on an epoll loop: stage 5's `Runner`, so Ctrl-C cancels main and every
//! task cleans up.
//!
//! [`run_per_core`] is how an asyncio program uses more than one core. A
//! loop is one thread, and asyncio gives it no help to spread: the usual
//! answer is one process per core, each with its own loop, all listening
//! on one port with `start_server(..., reuse_port=True)`, and the kernel
//! spreading the connections among them (`SO_REUSEPORT` hashes each new
//! connection's addresses to one listener). Here the processes are
//! threads, and nothing else changes: each loop has its own tasks,
//! timers and connections, and shares nothing with the others but the
//! port. Tokio's multi-threaded runtime does the opposite: one pool of
//! tasks, any thread runs any of them, and an idle thread steals work
//! from a busy one. Chapter 7 measures both.

use std::future::Future;

use stage01_generator_loop::RealClock;
use stage02_timed_events::LoopError;
use stage04_futures_tasks::FutureError;
use stage05_cancellation::{Runner, RunnerError};

use crate::epoll::EpollSelector;

/// How long the tasks cancelled at the end may take to clean up, in
/// seconds: long enough for a server's goodbyes and lingering closes
/// (`scenarios::echo`), even to ten thousand clients on a busy machine.
/// asyncio's `run` waits for them for ever; a second Ctrl-C cuts it short.
pub const GRACE: f64 = 10.0;

// ANCHOR: run
/// asyncio's `run(main)` on an epoll loop on the real clock: run `main`
/// to its end, Ctrl-C cancelling it, then cancel and reap what is left,
/// giving it [`GRACE`] seconds.
///
/// # Errors
/// As stage 5's `Runner::run` and `Runner::close`: `Interrupted` after a
/// Ctrl-C, `Main` if main failed, `Loop` if the loop could not be made.
pub fn run<T: 'static>(
    main: impl Future<Output = Result<T, FutureError>> + 'static,
) -> Result<T, RunnerError> {
    let selector =
        EpollSelector::new().map_err(|error| RunnerError::Loop(LoopError::Poll(error)))?;
    let runner = Runner::with_selector(RealClock::new(), selector)?.with_grace(GRACE);
    let outcome = runner.run(main);
    let closed = runner.close();
    // Main's failure says more than the close's.
    let value = outcome?;
    closed.map(|()| value)
}
// ANCHOR_END: run

// ANCHOR: run_per_core
/// [`run`] on `loops` threads at once, each its own loop running
/// `main(index)`; returns when every one has ended, with how each ended,
/// in order. A Ctrl-C reaches every loop (each runner handles SIGINT), so
/// all of them shut down together.
///
/// `main` makes each loop's coroutine in that loop's thread: a coroutine
/// holds `Rc`s of its loop, so it cannot be made in one thread and moved
/// to another; only the recipe crosses.
pub fn run_per_core<M, F>(loops: usize, main: M) -> Vec<Ended>
where
    M: Fn(usize) -> F + Sync,
    F: Future<Output = Result<(), FutureError>> + 'static,
{
    std::thread::scope(|scope| {
        let threads: Vec<_> = (0..loops)
            .map(|index| {
                let main = &main;
                std::thread::Builder::new()
                    .name(format!("loop-{index}"))
                    .spawn_scoped(scope, move || Ended::from(run(main(index))))
            })
            .collect();
        threads
            .into_iter()
            .map(|thread| match thread.map(|thread| thread.join()) {
                Ok(Ok(outcome)) => outcome,
                Ok(Err(panic)) => std::panic::resume_unwind(panic),
                Err(no_thread) => Ended::Failed(format!("no thread for a loop: {no_thread}")),
            })
            .collect()
    })
}
// ANCHOR_END: run_per_core

/// How a loop of [`run_per_core`] ended. A loop's own errors hold `Rc`s,
/// which cannot leave its thread: what crosses is what they say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    /// Main returned.
    Done,
    /// Ctrl-C cancelled main, and every task cleaned up.
    Interrupted,
    /// Main failed, a second Ctrl-C cut the clean-up short, or the loop
    /// could not be made: said in words.
    Failed(String),
}

impl From<Result<(), RunnerError>> for Ended {
    fn from(outcome: Result<(), RunnerError>) -> Self {
        match outcome {
            Ok(()) => Self::Done,
            Err(RunnerError::Interrupted { cut_short: false }) => Self::Interrupted,
            Err(error) => Self::Failed(error.to_string()),
        }
    }
}
