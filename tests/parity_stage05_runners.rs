//! Stage 5 against CPython, the runner's end: our `run` and `Runner`
//! (crates/05-cancellation/src/runners.rs) against asyncio's `Runner`
//! (tests/parity/stage05_runners.py), both on a virtual clock, section by
//! section, line by line, with the time (and, but where said below, the
//! iteration) on every line:
//!
//! - main returns while two tasks are pending: the runner cancels both,
//!   each cleans up with awaits, and the one that fails in its clean-up is
//!   reported (which task, which error, when, after what), once both are
//!   done; `run` gives main's value;
//! - Ctrl-C, a real SIGINT sent to this process from a callback at 1 s:
//!   main is cancelled and cleans up (awaiting), `run` ends interrupted,
//!   then `close` cancels the other task, which cleans up too.
//!
//! What each side says in its own words is printed in agreed words on
//! both: the report ("unhandled exception during asyncio.run() shutdown"
//! there, "unhandled exception during run() shutdown" here) and the
//! interrupted run (`KeyboardInterrupt` there, `RunnerError::Interrupted`
//! here).
//!
//! Left out, as ours does otherwise (found by counting iterations on each
//! side; the lines are still compared for their time and order):
//!
//! - The iteration in which Ctrl-C lands. asyncio's `Runner` takes SIGINT
//!   with `signal.signal`, and Python runs that handler between two
//!   bytecodes of the code that runs, here the callback that sent the
//!   signal: main is cancelled in that iteration (3), and sees it in the
//!   next (4). Ours may do nothing in a signal handler but write a byte
//!   (async-signal-safety): the loop runs the runner's handler as a reader
//!   in its next iteration (4), as asyncio's own `loop.add_signal_handler`
//!   would, and main sees the cancellation in the one after (5). So in
//!   `ctrl_c_cancels_main_then_every_task` the lines after the signal count
//!   iterations from m, the one in which main sees its cancellation: from
//!   there on (main's clean-up, the end of `run`, the other task's
//!   clean-up) both take the same iterations.
//!
//! Not compared at all (differences runners.rs documents): a task that
//! ignores its cancellation (asyncio waits for it for ever; ours reports
//! it after a grace period and leaves it to the loop's close), and a
//! second Ctrl-C (asyncio raises `KeyboardInterrupt` in whatever code
//! runs; ours stops the loop). Nor the order in which asyncio cancels the
//! pending tasks, a set's (ours: the order they were made): no iteration
//! prints two lines from tasks those cancels wake.
//!
//! A SIGINT reaches every runner of this process (each one's handler is
//! the process's), so every test here that makes a runner takes its turn,
//! as crates/05-cancellation/tests/runners.rs does.

mod common;

use std::cell::{Cell, RefCell};
use std::error::Error;
use std::fmt;
use std::process::Command;
use std::rc::Rc;
use std::sync::mpsc;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use demo_support::Transcript;
use stage01_generator_loop::{RealClock, VirtualClock};
use stage02_timed_events::AbstractEventLoop;
use stage03_read_readiness::SelectorEventLoop;
use stage04_futures_tasks::{FutureError, LoopThread};
use stage05_cancellation::{
    CurrentTask, Runner, RunnerError, add_signal_handler, create_task, current_task, run, sleep,
};

use common::ended;
use common::stage04::{stamp, stamp_iteration};

/// The script our loop is compared with.
const SCRIPT: &str = "stage05_runners.py";

/// SIGINT's number: 2 on every Unix (POSIX's `kill -2`).
const SIGINT: i32 = 2;

/// A SIGINT not heard in this long after `kill` returned never came: fail
/// instead of waiting for ever.
const HEARING_LIMIT: Duration = Duration::from_secs(30);

/// What ours reports about a task that failed in the runner's clean-up,
/// before the error's message.
const SHUTDOWN_MESSAGE: &str = "unhandled exception during run() shutdown: ";

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn take_turn() -> MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner)
}

#[test]
fn the_script_prints_the_sections_compared_here() {
    common::assert_prints_sections(
        SCRIPT,
        &[
            "run_cancels_what_main_left",
            "ctrl_c_cancels_main_then_every_task",
        ],
    );
}

/// The name of the task a report is about: ours names it in the report's
/// `<Task finished name=failing created at ...>`.
fn task_name(handle: &str) -> &str {
    let name = handle.split_once("name=").map_or("", |(_, rest)| rest);
    name.split_once(" created at")
        .map_or(name, |(name, _)| name)
}

/// The script's `hear_reports`: print each report to the loop's exception
/// handler with `stamped`, a task that failed in the runner's clean-up in
/// the agreed words, anything else in ours.
fn hear_reports(
    event_loop: &SelectorEventLoop,
    stamped: impl Fn(&SelectorEventLoop, &str) + 'static,
) {
    event_loop.set_exception_handler(move |event_loop, report| {
        let line = match report.message.strip_prefix(SHUTDOWN_MESSAGE) {
            Some(error) => {
                let name = task_name(&report.handle);
                format!("report: unhandled exception during shutdown, task {name}: {error}")
            }
            None => format!("report: {}", report.message),
        };
        stamped(event_loop, &line);
    });
}

/// The exception the script's `failing` raises: Python's
/// `ValueError("disk full")`, with the same message.
#[derive(Debug)]
struct DiskFull;

impl fmt::Display for DiskFull {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "disk full")
    }
}

impl Error for DiskFull {}

/// `run(main)`, as `asyncio.run(main())`: main leaves two tasks pending
/// and returns 42; the runner cancels both, the saver cleans up for 0.5 s,
/// the failing one fails 0.25 s into its clean-up and is reported, once
/// both are done, as asyncio's `gather` of them ends.
#[test]
fn run_cancels_what_main_left() {
    let _turn = take_turn();
    let out = Transcript::new();
    let mut kept = None;
    let outcome = run(VirtualClock::new(), |event_loop| {
        kept = Some(event_loop.clone());
        let log = out.clone();
        hear_reports(event_loop, move |event_loop, line| {
            stamp_iteration(&log, event_loop, line);
        });
        let (here, log) = (event_loop.clone(), out.clone());
        async move {
            let (l, o) = (here.clone(), log.clone());
            let saver = create_task(&here, async move {
                let slept = sleep(3600.0, ()).await;
                if let Err(cancelled) = slept {
                    stamp_iteration(&o, &l, "saver: cancelled; saves for 0.5 s");
                    sleep(0.5, ()).await?;
                    stamp_iteration(&o, &l, "saver: saved; passes it on");
                    return Err(cancelled);
                }
                Ok(())
            })?;
            saver.set_name("saver");
            let (l, o) = (here.clone(), log.clone());
            let failing = create_task(&here, async move {
                // Silent when cancelled: saver speaks in that iteration.
                let slept = sleep(3600.0, ()).await;
                if slept.is_err() {
                    sleep(0.25, ()).await?;
                    stamp_iteration(&o, &l, "failing: fails in its clean-up");
                    return Err(FutureError::Exception(Rc::new(DiskFull)));
                }
                Ok(())
            })?;
            failing.set_name("failing");
            sleep(1.0, ()).await?;
            stamp_iteration(&log, &here, "main: returns 42");
            Ok((42, saver, failing))
        }
    });
    let event_loop = kept.expect("run made its loop");
    match outcome {
        Ok((value, saver, failing)) => {
            stamp(&out, &event_loop, &format!("run: returned {value}"));
            let (saver, failing) = (ended(&saver), ended(&failing));
            stamp(
                &out,
                &event_loop,
                &format!("saver {saver}, failing {failing}"),
            );
        }
        Err(error) => stamp(&out, &event_loop, &format!("run: {error}")),
    }
    common::compare_section(SCRIPT, "run_cancels_what_main_left", &out.lines());
}

/// A loop in a thread of its own that handles SIGINT too, made after the
/// runner: it tells this thread when the signal has come.
///
/// The SIGINT is sent by `kill(1)`, another process (this package has no
/// `kill(2)` of its own to call), so the kernel may run the handler in any
/// thread of this one, a moment after `kill` has returned. The handler
/// writes a byte for each loop that handles the signal, in the order their
/// handlers were added, in one run: once the witness, added last, has its
/// byte, the runner's loop has its own, before the callback that pressed
/// Ctrl-C returns, as if the signal had been raised within it (as
/// crates/05-cancellation/tests/runners.rs raises it). Never a moment later
/// in one run and not in another.
struct Witness {
    heard: mpsc::Receiver<()>,
    _thread: LoopThread,
}

impl Witness {
    fn start() -> Self {
        let thread = LoopThread::spawn(RealClock::new()).expect("a loop thread");
        let (heard_tx, heard) = mpsc::channel();
        let (added_tx, added) = mpsc::channel();
        thread
            .remote()
            .call_soon_threadsafe(move |event_loop| {
                let added = add_signal_handler(event_loop, SIGINT, move |_| {
                    let _gone = heard_tx.send(());
                });
                added_tx.send(added.is_ok()).expect("the test waits");
            })
            .expect("a running loop");
        assert!(added.recv().expect("an answer"), "the witness hears SIGINT");
        Self {
            heard,
            _thread: thread,
        }
    }

    /// The script's `os.kill(os.getpid(), signal.SIGINT)`: Ctrl-C, to this
    /// process; back once it has come.
    fn press_ctrl_c(&self) {
        let status = Command::new("kill")
            .args(["-s", "INT", &std::process::id().to_string()])
            .status()
            .expect("kill(1) runs");
        assert!(status.success(), "kill -s INT failed: {status}");
        let heard = self.heard.recv_timeout(HEARING_LIMIT);
        heard.expect("the witness hears SIGINT");
    }
}

/// [`ended`], for a task seen as a [`CurrentTask`] (main, whose task the
/// runner makes), whose value is `()` (Python's `None`).
fn ended_handle(task: &CurrentTask) -> String {
    if !task.done() {
        return "pending".to_string();
    }
    match task.exception() {
        _ if task.cancelled() => "cancelled".to_string(),
        Some(error) => format!("failed: {error}"),
        None => "result None".to_string(),
    }
}

/// The script's `stamp_since`: the time, and the iterations since `m`, the
/// one in which main saw its cancellation (see the top of this file).
fn stamp_since(
    out: &Transcript,
    event_loop: &SelectorEventLoop,
    seen: &Cell<Option<u64>>,
    text: &str,
) {
    let since = match seen.get() {
        Some(m) => format!("m+{}", event_loop.iterations() - m),
        None => "? (main did not see a cancellation)".to_string(),
    };
    stamp(out, event_loop, &format!("iteration {since}: {text}"));
}

/// `Runner::run(main)`: main starts a worker and waits; a callback at 1 s
/// presses Ctrl-C; main, cancelled, cleans up for 0.25 s and passes it on;
/// `run` says interrupted; `close` cancels the worker, which flushes for
/// 0.5 s. Iterations are counted from main's cancellation on (see the top
/// of this file).
#[test]
fn ctrl_c_cancels_main_then_every_task() {
    let _turn = take_turn();
    let out = Transcript::new();
    let runner = Runner::new(VirtualClock::new()).expect("a runner");
    let witness = Witness::start();
    let event_loop = runner.get_loop().clone();
    let seen = Rc::new(Cell::new(None));
    let (log, m) = (out.clone(), Rc::clone(&seen));
    hear_reports(&event_loop, move |event_loop, line| {
        stamp_since(&log, event_loop, &m, line);
    });
    let log = out.clone();
    event_loop
        .call_later(1.0, move |event_loop| {
            stamp_iteration(&log, event_loop, "callback: Ctrl-C");
            witness.press_ctrl_c();
        })
        .expect("an open loop");
    let tasks = Rc::new(RefCell::new(None));
    let (here, log, m, made) = (
        event_loop.clone(),
        out.clone(),
        Rc::clone(&seen),
        Rc::clone(&tasks),
    );
    let main = async move {
        let (l, o, wm) = (here.clone(), log.clone(), Rc::clone(&m));
        let worker = create_task(&here, async move {
            let slept = sleep(3600.0, ()).await;
            if let Err(cancelled) = slept {
                stamp_since(&o, &l, &wm, "worker: cancelled; flushes for 0.5 s");
                sleep(0.5, ()).await?;
                stamp_since(&o, &l, &wm, "worker: flushed; passes it on");
                return Err(cancelled);
            }
            Ok(())
        })?;
        worker.set_name("worker");
        *made.borrow_mut() = Some((current_task().expect("in a task"), worker));
        let slept = sleep(3600.0, ()).await;
        if let Err(cancelled) = slept {
            m.set(Some(here.iterations()));
            let cancelling = current_task().expect("in a task").cancelling();
            let line = format!(
                "iteration m: main: cancelled, cancelling {cancelling}; cleans up for 0.25 s"
            );
            stamp(&log, &here, &line);
            sleep(0.25, ()).await?;
            stamp_since(&log, &here, &m, "main: cleaned up; passes it on");
            return Err(cancelled);
        }
        Ok(())
    };
    match runner.run(main) {
        Ok(()) => stamp_since(&out, &event_loop, &seen, "runner.run: returned"),
        Err(RunnerError::Interrupted { cut_short: false }) => {
            stamp_since(&out, &event_loop, &seen, "runner.run: interrupted");
        }
        Err(error) => stamp_since(&out, &event_loop, &seen, &format!("runner.run: {error}")),
    }
    runner.close().expect("the clean-up ends");
    let (main, worker) = tasks.take().expect("main ran");
    let (main, worker) = (ended_handle(&main), ended(&worker));
    let line = format!("runner closed: main {main}, worker {worker}");
    stamp(&out, &event_loop, &line);
    common::compare_section(SCRIPT, "ctrl_c_cancels_main_then_every_task", &out.lines());
}
