//! Running a program's main coroutine, and ending it cleanly on Ctrl-C.
//!
//! Mirrors `Runner`, `run` and `_cancel_all_tasks` in CPython's
//! `asyncio/runners.py`. Stage 4's `run` could only drop the tasks left
//! pending when main returned; with cancellation, the runner asks each to
//! stop and lets it clean up (awaits and all) before the loop closes. And
//! Ctrl-C becomes a cancellation too: the first SIGINT cancels main, which
//! cleans up as it would for any cancel, and then so does every other
//! task; a second SIGINT ends the clean-up at once.
//!
//! Two differences from asyncio, both for a program that must end:
//! asyncio waits for ever for a task that ignores its cancellation; here a
//! task still pending a grace period after it was cancelled is reported,
//! and left to the loop's close. And the second SIGINT is handled by the
//! loop, as the first is (asyncio raises `KeyboardInterrupt` from its
//! handler, in whatever Python code runs): a step that never returns to the
//! loop cannot be interrupted this way; like a long call into C in Python,
//! only the signal's default action, or SIGKILL, ends it.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::rc::Rc;

use signal_hook::consts::SIGINT;
use stage01_generator_loop::Clock;
use stage02_timed_events::{AbstractEventLoop, CallbackPanic, LoopError, ReportKind};
use stage03_read_readiness::selector_events::ReaderWriter;
use stage03_read_readiness::{PollSelector, Selector, SelectorEventLoop, SelectorEvents};
use stage04_futures_tasks::{Future, FutureError, TaskInfo};

use crate::signals::{SignalError, add_signal_handler, remove_signal_handler};
use crate::tasks::{CurrentTask, all_tasks, create_task};

/// How long, in seconds, a task cancelled as the runner closes may take to
/// clean up before it is reported and left behind.
pub const DEFAULT_GRACE: f64 = 2.0;

/// The exit status of a program that Ctrl-C ended: 128 + SIGINT, what a
/// shell reports for a program that SIGINT killed, and what the stage 5
/// demo exits with when interrupted.
pub const INTERRUPTED_STATUS: u8 = 130;

/// Why [`Runner::run`], [`Runner::close`] or [`run`] have no value to give.
#[derive(Debug)]
pub enum RunnerError {
    /// Ctrl-C: main was cancelled, and ended so (asyncio raises
    /// `KeyboardInterrupt`). `cut_short`: a second Ctrl-C ended the
    /// clean-up at once; the tasks still pending were dropped.
    Interrupted {
        /// A second Ctrl-C ended the clean-up.
        cut_short: bool,
    },
    /// Main ended with an exception, or was cancelled, not by Ctrl-C.
    Main(FutureError),
    /// The loop refused, or failed.
    Loop(LoopError),
    /// The handler for Ctrl-C could not be set.
    Signal(SignalError),
}

// ANCHOR: runner
/// asyncio's `Runner`: a loop of its own, main coroutines run on it to
/// completion, Ctrl-C turned into a cancellation, and a clean close.
pub struct Runner {
    event_loop: SelectorEventLoop,
    /// Seconds a cancelled task may take to clean up, as the runner closes.
    grace: f64,
    interrupts: Rc<Interrupts>,
}

/// What the SIGINT handler and the runner share.
#[derive(Default)]
struct Interrupts {
    /// asyncio's `_interrupt_count`.
    count: Cell<u32>,
    /// The main task, while `run` runs it.
    main: RefCell<Option<CurrentTask>>,
    /// A Ctrl-C came when there was no main task left to cancel: stop.
    cut_short: Cell<bool>,
}
// ANCHOR_END: runner

impl Runner {
    /// A runner with a new loop on `clock` (waiting in `poll(2)`), which
    /// handles Ctrl-C (SIGINT) until it is closed. (asyncio's runs only in
    /// the main thread, where Python runs signal handlers; here any thread
    /// will do, and every runner of the process hears a Ctrl-C.)
    ///
    /// # Errors
    /// If the loop, or the handler for SIGINT, cannot be made.
    pub fn new(clock: impl Clock + 'static) -> Result<Self, RunnerError> {
        Self::with_selector(clock, PollSelector::new())
    }

    /// A runner whose loop waits in `selector` (stage 6's epoll, say).
    ///
    /// # Errors
    /// As [`Runner::new`].
    pub fn with_selector(
        clock: impl Clock + 'static,
        selector: impl Selector<Data = ReaderWriter> + 'static,
    ) -> Result<Self, RunnerError> {
        let event_loop = SelectorEventLoop::with_selector(clock, selector)
            .map_err(|error| RunnerError::Loop(LoopError::Poll(std::io::Error::other(error))))?;
        let interrupts = Rc::new(Interrupts::default());
        let heard = Rc::clone(&interrupts);
        add_signal_handler(&event_loop, SIGINT, move |event_loop| {
            on_sigint(event_loop, &heard);
        })
        .map_err(RunnerError::Signal)?;
        Ok(Self {
            event_loop,
            grace: DEFAULT_GRACE,
            interrupts,
        })
    }

    /// The same runner, giving each cancelled task `seconds` to clean up
    /// as it closes, instead of [`DEFAULT_GRACE`].
    pub fn with_grace(mut self, seconds: f64) -> Self {
        self.grace = seconds;
        self
    }

    /// asyncio's `get_loop`: the runner's loop, to make main with.
    pub fn get_loop(&self) -> &SelectorEventLoop {
        &self.event_loop
    }

    // ANCHOR: run
    /// asyncio's `Runner.run(coro)`: run `main` in a task until it is done,
    /// and evaluate to its value. The first Ctrl-C meanwhile cancels it;
    /// if it then ends cancelled, that is [`RunnerError::Interrupted`].
    ///
    /// # Errors
    /// `Interrupted` as above, or cut short by a second Ctrl-C; `Main` if
    /// main failed; `Loop` if the loop refused or failed.
    pub fn run<T: 'static>(
        &self,
        main: impl std::future::Future<Output = Result<T, FutureError>> + 'static,
    ) -> Result<T, RunnerError> {
        if self.interrupts.cut_short.get() {
            return Err(RunnerError::Interrupted { cut_short: true });
        }
        let task = create_task(&self.event_loop, main).map_err(RunnerError::Loop)?;
        task.add_done_callback(|event_loop, _| event_loop.stop());
        self.interrupts.count.set(0);
        *self.interrupts.main.borrow_mut() = Some(task.handle());
        let ran = self.event_loop.run_forever();
        self.interrupts.main.take();
        ran.map_err(RunnerError::Loop)?;
        if !task.done() {
            // A second Ctrl-C stopped the loop while main cleaned up.
            return Err(RunnerError::Interrupted { cut_short: true });
        }
        match task.take_outcome() {
            // Cancelled by the Ctrl-C alone, not also by itself or another.
            Err(FutureError::Cancelled)
                if self.interrupts.count.get() > 0 && task.uncancel() == 0 =>
            {
                Err(RunnerError::Interrupted { cut_short: false })
            }
            Err(error) => Err(RunnerError::Main(error)),
            Ok(value) => Ok(value),
        }
    }
    // ANCHOR_END: run

    // ANCHOR: close
    /// asyncio's `Runner.close()`: cancel every task still pending and let
    /// each clean up, for at most the grace period; report the tasks that
    /// failed meanwhile, and those still pending after it; give SIGINT its
    /// default action back; close the loop. A Ctrl-C meanwhile ends the
    /// clean-up at once.
    ///
    /// # Errors
    /// `Interrupted { cut_short: true }` if a Ctrl-C ended the clean-up;
    /// `Loop` if the loop failed.
    pub fn close(self) -> Result<(), RunnerError> {
        let cleaned_up = if self.interrupts.cut_short.get() {
            Ok(())
        } else {
            cancel_all_tasks(&self.event_loop, self.grace, &self.interrupts)
        };
        // As asyncio's `run` puts `default_int_handler` back.
        let restored = remove_signal_handler(&self.event_loop, SIGINT);
        // Pending tasks go with the loop, each reported as destroyed.
        let closed = self.event_loop.close();
        cleaned_up.map_err(RunnerError::Loop)?;
        if self.interrupts.cut_short.get() {
            return Err(RunnerError::Interrupted { cut_short: true });
        }
        restored.map_err(RunnerError::Signal)?;
        closed.map_err(RunnerError::Loop)
    }
    // ANCHOR_END: close
}

// ANCHOR: on_sigint
/// asyncio's `Runner._on_sigint`, as a callback the loop runs: the first
/// Ctrl-C cancels main, if it is running; any other stops the loop at once
/// (asyncio raises `KeyboardInterrupt`).
fn on_sigint(event_loop: &SelectorEventLoop, interrupts: &Interrupts) {
    let count = interrupts.count.get() + 1;
    interrupts.count.set(count);
    let main = interrupts.main.borrow().clone();
    if let Some(main) = main.filter(|main| count == 1 && !main.done()) {
        main.cancel(None);
        return;
    }
    interrupts.cut_short.set(true);
    event_loop.stop();
}
// ANCHOR_END: on_sigint

// ANCHOR: cancel_all_tasks
/// asyncio's `_cancel_all_tasks`, with a grace period: cancel every pending
/// task, run the loop until each is done, `grace` seconds have passed, or
/// a Ctrl-C came; then report each task that failed instead of ending
/// cancelled, and each still pending.
fn cancel_all_tasks(
    event_loop: &SelectorEventLoop,
    grace: f64,
    interrupts: &Interrupts,
) -> Result<(), LoopError> {
    let tasks = all_tasks(event_loop);
    if tasks.is_empty() {
        return Ok(());
    }
    for (_, task) in &tasks {
        task.cancel(None);
    }
    // asyncio's `run_until_complete(gather(*to_cancel,
    // return_exceptions=True))`: each task's end calls back a gathering
    // future, which the last one finishes, and that stops the loop. The
    // wait may never end: here a timer also finishes it, after `grace`.
    let gathered = Future::<()>::new(event_loop);
    let left = Rc::new(Cell::new(tasks.len()));
    for (_, task) in &tasks {
        let (left, gathered) = (Rc::clone(&left), gathered.clone());
        task.add_done_callback(move |_| {
            left.set(left.get() - 1);
            if left.get() == 0 {
                let _first = gathered.set_result(());
            }
        });
    }
    let expires = gathered.clone();
    let timer = event_loop.call_later(grace, move |_| drop(expires.set_result(())))?;
    gathered.add_done_callback(|event_loop, _| event_loop.stop());
    if !interrupts.cut_short.get() {
        event_loop.run_forever()?; // a second Ctrl-C stops it too
    }
    timer.cancel();
    for (info, task) in &tasks {
        if let Some(error) = task.exception() {
            let message = format!("unhandled exception during run() shutdown: {error}");
            report(event_loop, "finished", info, message);
        } else if !task.done() && !interrupts.cut_short.get() {
            let message = format!("Task still pending {grace} s after it was cancelled");
            report(event_loop, "pending", info, message);
        }
    }
    Ok(())
}

/// Tell the loop's exception handler `message` about the task `info`,
/// which is `state`, as asyncio's `call_exception_handler` is handed a
/// message and a task.
fn report(event_loop: &SelectorEventLoop, state: &str, info: &TaskInfo, message: String) {
    event_loop.call_exception_handler(&CallbackPanic {
        handle: format!(
            "<Task {state} name={} created at {}>",
            info.name, info.created_at
        ),
        message,
        kind: ReportKind::About("task"),
    });
}
// ANCHOR_END: cancel_all_tasks

// ANCHOR: run_fn
/// `asyncio.run(main())`: a [`Runner`] on `clock`, `main` (made with its
/// loop) run to completion on it, then the runner closed. On Ctrl-C:
/// main is cancelled, then every other task, each cleans up, and the
/// answer is [`RunnerError::Interrupted`].
///
/// # Errors
/// As [`Runner::run`] and [`Runner::close`]; an interruption of either is
/// the answer, whatever main returned.
pub fn run<T, F>(
    clock: impl Clock + 'static,
    main: impl FnOnce(&SelectorEventLoop) -> F,
) -> Result<T, RunnerError>
where
    T: 'static,
    F: std::future::Future<Output = Result<T, FutureError>> + 'static,
{
    let runner = Runner::new(clock)?;
    let outcome = runner.run(main(runner.get_loop()));
    match (outcome, runner.close()) {
        (_, Err(cut_short @ RunnerError::Interrupted { .. })) => Err(cut_short),
        (Err(error), _) | (Ok(_), Err(error)) => Err(error),
        (Ok(value), Ok(())) => Ok(value),
    }
}
// ANCHOR_END: run_fn

impl fmt::Display for RunnerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunnerError::Interrupted { cut_short: false } => write!(f, "interrupted"),
            RunnerError::Interrupted { cut_short: true } => {
                write!(f, "interrupted again: the clean-up was cut short")
            }
            RunnerError::Main(error) => write!(f, "main ended: {error}"),
            RunnerError::Loop(error) => write!(f, "the loop stopped: {error}"),
            RunnerError::Signal(error) => write!(f, "cannot handle Ctrl-C: {error}"),
        }
    }
}

impl std::error::Error for RunnerError {}
