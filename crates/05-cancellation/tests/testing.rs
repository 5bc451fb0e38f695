//! The test clock of asynctest's `ClockedTestCase`: a [`ClockedLoop`]
//! whose time moves only when the test calls `advance`, and what `advance`
//! runs (everything due up to the target, at its time) and does not run
//! (anything later).

use std::cell::RefCell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::rc::{Rc, Weak};
use std::time::Duration;

use demo_support::Transcript;
use demo_support::transcript::assert_matches_file;
use stage02_timed_events::seconds::Nanos;
use stage02_timed_events::{AbstractEventLoop, LoopError};
use stage03_read_readiness::SelectorEventLoop;
use stage04_futures_tasks::{FutureError, run_until_complete, task_outcome};
use stage05_cancellation::scenarios::clocked_timeout;
use stage05_cancellation::testing::{AdvanceError, ClockedLoop};
use stage05_cancellation::{Task, create_task, is_timeout, sleep, wait_for};

const SECOND: Nanos = 1_000_000_000;

/// What ran, and when (loop nanoseconds): shared by the callbacks.
type Log = Rc<RefCell<Vec<(Nanos, &'static str)>>>;

fn note(log: &Log, event_loop: &impl AbstractEventLoop, what: &'static str) {
    log.borrow_mut().push((event_loop.now(), what));
}

/// The talk's coroutine: at most 10 s for a 20 s sleep. `wait_for` is
/// called inside the task, where the loop runs.
fn talks_task(clocked: &ClockedLoop) -> Task<()> {
    create_task(clocked, async {
        wait_for(sleep(20.0, ()), Some(10.0)).await
    })
    .unwrap()
}

/// A task that sleeps `seconds`, then notes `what`.
fn sleeper(clocked: &ClockedLoop, log: &Log, seconds: f64, what: &'static str) -> Task<()> {
    let (here, log) = (clocked.event_loop().clone(), Rc::clone(log));
    create_task(clocked, async move {
        sleep(seconds, ()).await?;
        note(&log, &here, what);
        Ok(())
    })
    .unwrap()
}

#[test]
fn the_talks_timeout_is_pending_after_9_s_and_a_timeout_error_after_11_s() {
    let clocked = ClockedLoop::new().unwrap();
    let task = talks_task(&clocked);
    clocked.advance(9.0).unwrap();
    assert!(!task.done());
    assert_eq!(clocked.time(), 9.0);
    clocked.advance(2.0).unwrap();
    assert!(task.done());
    assert_eq!(clocked.time(), 11.0);
    assert_eq!(clocked.now(), 11 * SECOND);
    assert!(is_timeout(&task.result().unwrap_err()));
    // Awaiting it, done, takes no time: the timeout error, at 11 s still.
    let awaited = task_outcome(run_until_complete(&clocked, task)).unwrap();
    assert!(is_timeout(&awaited.unwrap_err()));
    assert_eq!(clocked.time(), 11.0);
}

#[test]
fn the_timeout_fires_at_10_s_inside_the_advance_from_9_to_11() {
    let clocked = ClockedLoop::new().unwrap();
    let log: Log = Rc::default();
    let (here, ended) = (clocked.event_loop().clone(), Rc::clone(&log));
    let task = create_task(&clocked, async move {
        let outcome = wait_for(sleep(20.0, ()), Some(10.0)).await;
        note(&ended, &here, "ended");
        outcome
    })
    .unwrap();
    clocked.advance(9.0).unwrap();
    clocked.advance(2.0).unwrap();
    assert!(task.done());
    assert_eq!(*log.borrow(), [(10 * SECOND, "ended")]);
}

/// Timers, a periodic callback, tasks and the talk's timeout on a fresh
/// clocked loop, advanced 11 s in `steps`: what ran when, and which tasks
/// were done.
fn eleven_seconds_in(steps: &[f64]) -> (Vec<(Nanos, &'static str)>, Vec<bool>, Nanos) {
    let clocked = ClockedLoop::new().unwrap();
    let log: Log = Rc::default();
    for (when, what) in [(1.0, "timer 1 s, first"), (1.0, "timer 1 s, second")] {
        let log = Rc::clone(&log);
        clocked
            .call_at(when, move |event_loop| note(&log, event_loop, what))
            .unwrap();
    }
    fn tick(event_loop: &SelectorEventLoop, log: Log) {
        note(&log, event_loop, "tick");
        event_loop
            .call_later(0.7, move |event_loop| tick(event_loop, log))
            .unwrap();
    }
    let ticks = Rc::clone(&log);
    clocked
        .call_soon(move |event_loop| tick(event_loop, ticks))
        .unwrap();
    let tasks = [
        sleeper(&clocked, &log, 0.3, "slept 0.3 s"),
        sleeper(&clocked, &log, 5.25, "slept 5.25 s"),
        sleeper(&clocked, &log, 11.0, "slept 11 s"),
        sleeper(&clocked, &log, 11.5, "slept 11.5 s"),
        talks_task(&clocked),
    ];
    for &step in steps {
        clocked.advance(step).unwrap();
    }
    let log = log.borrow().clone();
    (log, tasks.iter().map(Task::done).collect(), clocked.now())
}

#[test]
fn several_small_steps_run_what_one_big_step_runs() {
    let (once, done, now) = eleven_seconds_in(&[11.0]);
    assert_eq!(now, 11 * SECOND);
    assert_eq!(done, [true, true, true, false, true]);
    assert_eq!(once.len(), 2 + 16 + 3); // 16 ticks: 0, 0.7, ..., 10.5 s
    assert_eq!(once.last(), Some(&(11 * SECOND, "slept 11 s")));
    let tenths = eleven_seconds_in(&[0.1; 110]);
    assert_eq!(tenths, (once.clone(), done.clone(), now));
    let uneven = eleven_seconds_in(&[0.05, 3.3, 0.0, 7.65]);
    assert_eq!(uneven, (once, done, now));
}

#[test]
fn a_timer_due_exactly_at_the_target_runs_and_so_does_what_it_wakes() {
    let clocked = ClockedLoop::new().unwrap();
    let log: Log = Rc::default();
    let at_three = Rc::clone(&log);
    clocked
        .call_at(3.0, move |event_loop| {
            note(&at_three, event_loop, "timer");
            let soon = Rc::clone(&at_three);
            let soon =
                move |event_loop: &SelectorEventLoop| note(&soon, event_loop, "its call_soon");
            event_loop.call_soon(soon).unwrap();
            let later = Rc::clone(&at_three);
            let later =
                move |event_loop: &SelectorEventLoop| note(&later, event_loop, "its call_later(0)");
            event_loop.call_later(0.0, later).unwrap();
        })
        .unwrap();
    let task = sleeper(&clocked, &log, 3.0, "task slept 3 s");
    clocked.advance(3.0).unwrap();
    assert!(task.done());
    let mut ran: Vec<_> = log.borrow().clone();
    ran.sort();
    let expected = [
        "its call_later(0)",
        "its call_soon",
        "task slept 3 s",
        "timer",
    ];
    assert_eq!(ran, expected.map(|what| (3 * SECOND, what)));
    assert_eq!(clocked.now(), 3 * SECOND);
}

#[test]
fn nothing_runs_past_the_target() {
    let clocked = ClockedLoop::new().unwrap();
    let log: Log = Rc::default();
    let (just_after, chained) = (Rc::clone(&log), Rc::clone(&log));
    let after = move |event_loop: &SelectorEventLoop| note(&just_after, event_loop, "1 ns late");
    clocked.call_at_nanos(2 * SECOND + 1, after).unwrap();
    clocked
        .call_at(2.0, move |event_loop| {
            let log = Rc::clone(&chained);
            let later =
                move |event_loop: &SelectorEventLoop| note(&log, event_loop, "0.5 s after 2 s");
            event_loop.call_later(0.5, later).unwrap();
        })
        .unwrap();
    let task = sleeper(&clocked, &log, 2.5, "slept 2.5 s");
    clocked.advance(2.0).unwrap();
    assert!(log.borrow().is_empty(), "{:?}", log.borrow());
    assert!(!task.done());
    assert_eq!(clocked.now(), 2 * SECOND);
    clocked.advance(Duration::from_nanos(1)).unwrap();
    assert_eq!(*log.borrow(), [(2 * SECOND + 1, "1 ns late")]);
    clocked.advance(0.5).unwrap();
    assert!(task.done());
    assert_eq!(log.borrow().len(), 3);
    assert_eq!(clocked.now(), 2 * SECOND + SECOND / 2 + 1);
}

#[test]
fn advancing_by_zero_runs_what_is_ready_now_and_nothing_later() {
    let clocked = ClockedLoop::new().unwrap();
    let log: Log = Rc::default();
    let (now, later) = (Rc::clone(&log), Rc::clone(&log));
    clocked
        .call_later(0.0, move |event_loop| note(&now, event_loop, "due now"))
        .unwrap();
    clocked
        .call_later(1e-9, move |event_loop| note(&later, event_loop, "1 ns on"))
        .unwrap();
    let task = sleeper(&clocked, &log, 0.0, "yielded once");
    clocked.advance(0.0).unwrap();
    assert!(task.done());
    assert_eq!(log.borrow().len(), 2, "{:?}", log.borrow());
    assert_eq!(clocked.now(), 0);
}

#[test]
fn odd_steps_are_refused_and_leave_the_clock_where_it_was() {
    let clocked = ClockedLoop::new().unwrap();
    let log: Log = Rc::default();
    let task = sleeper(&clocked, &log, 1.0, "slept 1 s");
    clocked.advance(0.5).unwrap();
    for nan in [f64::NAN, -f64::NAN] {
        assert!(matches!(
            clocked.advance(nan),
            Err(AdvanceError::NotANumber)
        ));
    }
    for backwards in [-1.0, -1e-9, f64::NEG_INFINITY, f64::MIN] {
        let refused = clocked.advance(backwards);
        assert!(
            matches!(refused, Err(AdvanceError::Backwards)),
            "{backwards}"
        );
    }
    for too_far in [f64::INFINITY, f64::MAX, 1e300, 9.3e9] {
        let refused = clocked.advance(too_far);
        assert!(matches!(refused, Err(AdvanceError::TooFar)), "{too_far}");
    }
    let refused = clocked.advance(Duration::MAX);
    assert!(matches!(refused, Err(AdvanceError::TooFar)));
    assert_eq!(clocked.now(), SECOND / 2);
    assert!(log.borrow().is_empty() && !task.done());
    // Refused, the loop is as it was: the next step runs the task.
    clocked.advance(-0.0).unwrap();
    clocked.advance(0.5).unwrap();
    assert!(task.done());
    assert_eq!(*log.borrow(), [(SECOND, "slept 1 s")]);
}

#[test]
fn a_loop_with_nothing_to_do_advances_all_the_same() {
    let clocked = ClockedLoop::new().unwrap();
    clocked.advance(5.0).unwrap();
    assert_eq!(clocked.now(), 5 * SECOND);
    let task = talks_task(&clocked);
    clocked.advance(10.0).unwrap();
    assert!(task.done());
    clocked.advance(5.0).unwrap();
    assert_eq!(clocked.now(), 20 * SECOND);
}

#[test]
fn a_closed_loop_cannot_advance() {
    let clocked = ClockedLoop::new().unwrap();
    clocked.advance(1.0).unwrap();
    clocked.close().unwrap();
    let refused = clocked.advance(1.0);
    assert!(matches!(
        refused,
        Err(AdvanceError::Loop(LoopError::Closed))
    ));
    assert_eq!(clocked.time(), 1.0);
}

#[test]
fn advancing_from_inside_the_loop_is_refused_and_the_outer_advance_goes_on() {
    let clocked = Rc::new(ClockedLoop::new().unwrap());
    let refused = Rc::new(RefCell::new(None));
    let (inner, answer) = (Rc::downgrade(&clocked), Rc::clone(&refused));
    clocked
        .call_at(1.0, move |_| {
            let clocked: Weak<ClockedLoop> = inner;
            let clocked = clocked.upgrade().expect("the test holds it");
            *answer.borrow_mut() = Some(clocked.advance(5.0));
        })
        .unwrap();
    let log: Log = Rc::default();
    let task = sleeper(&clocked, &log, 1.5, "slept 1.5 s");
    clocked.advance(2.0).unwrap();
    let refused = refused.borrow_mut().take().expect("the callback ran");
    assert!(matches!(
        refused,
        Err(AdvanceError::Loop(LoopError::AlreadyRunning))
    ));
    assert!(task.done());
    assert_eq!(clocked.now(), 2 * SECOND);
}

#[test]
fn time_never_moves_by_itself() {
    let clocked = ClockedLoop::new().unwrap();
    let log: Log = Rc::default();
    let task = sleeper(&clocked, &log, 3.0, "slept 3 s");
    clocked.advance(1.0).unwrap();
    // Running the loop any other way: it would wait for the sleep's timer,
    // and the clock refuses to move rather than hang.
    let ran = catch_unwind(AssertUnwindSafe(|| {
        run_until_complete(&clocked, task.clone())
    }));
    let panic = ran.expect_err("the loop wanted to wait");
    let message = panic.downcast_ref::<String>().expect("a message");
    assert!(message.contains("advance"), "{message}");
    assert_eq!(clocked.time(), 1.0);
    assert!(!task.done());
    // The loop is fine, and the stop that `run_until_complete` left on the
    // task does not cut the next advance short.
    clocked.advance(4.0).unwrap();
    assert!(task.done());
    assert_eq!(*log.borrow(), [(3 * SECOND, "slept 3 s")]);
    assert_eq!(clocked.now(), 5 * SECOND);
}

#[test]
fn a_cancelled_sleep_leaves_the_clock_at_the_target() {
    let clocked = ClockedLoop::new().unwrap();
    let log: Log = Rc::default();
    let task = sleeper(&clocked, &log, 20.0, "slept 20 s");
    clocked.advance(1.0).unwrap();
    task.cancel(None);
    clocked.advance(1.0).unwrap();
    assert!(task.cancelled());
    assert!(matches!(task.result(), Err(FutureError::Cancelled)));
    assert_eq!(clocked.now(), 2 * SECOND);
}

#[test]
fn scenario_13_prints_what_the_book_shows() {
    let out = Transcript::new();
    clocked_timeout(&out).expect("scenario 13 runs");
    let printed = out.lines().join("\n") + "\n";
    assert!(
        printed.contains("11.000  test: the task is done"),
        "{printed}"
    );
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/output/scenario-13.txt");
    assert_matches_file(&committed, &printed);
}
