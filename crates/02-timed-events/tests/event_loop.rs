//! The callback loop's rules, on the virtual clock with exact times: the order
//! callbacks run in, what one iteration runs, timers and their cancellation,
//! stopping, odd delays, panics, and a loop with nothing to wait for.

use demo_support::Transcript;
use std::cell::RefCell;
use std::rc::Rc;

use stage01_generator_loop::{Clock, VirtualClock};
use stage02_timed_events::event_loop::MIN_SCHEDULED_TIMERS;
use stage02_timed_events::seconds::TimeError;
use stage02_timed_events::{CallbackPanic, EventLoop, LoopError};

/// Stage 1's transcript, with callbacks that write to it.
#[derive(Clone, Default)]
struct Log(Transcript);

impl Log {
    fn push(&self, entry: impl Into<String>) {
        self.0.say(entry);
    }

    /// A callback that logs `entry`.
    fn says(&self, entry: &str) -> impl FnOnce(&EventLoop) + 'static {
        let (log, entry) = (self.clone(), entry.to_string());
        move |_| log.push(entry)
    }

    /// A callback that logs `entry` with the loop time.
    fn says_at(&self, entry: &str) -> impl FnOnce(&EventLoop) + 'static {
        let (log, entry) = (self.clone(), entry.to_string());
        move |event_loop| log.push(format!("{entry}@{}", event_loop.time()))
    }

    fn entries(&self) -> Vec<String> {
        self.0.lines()
    }
}

fn new_loop() -> (EventLoop, VirtualClock) {
    let clock = VirtualClock::new();
    (EventLoop::new(clock.clone()), clock)
}

/// Run until the loop has nothing left: stop from a timer far in the future
/// would move the clock, so stop once nothing is ready or scheduled.
fn run_until_idle(event_loop: &EventLoop) {
    loop {
        match event_loop.run_once() {
            Ok(()) => {}
            Err(LoopError::NothingToWaitFor) => return,
            Err(other) => panic!("{other}"),
        }
    }
}

#[test]
fn call_soon_is_fifo_and_never_runs_inline() {
    let (event_loop, _) = new_loop();
    let log = Log::default();
    for name in ["a", "b", "c"] {
        event_loop.call_soon(log.says(name));
    }
    assert!(log.entries().is_empty(), "call_soon ran a callback inline");
    event_loop.run_once().unwrap();
    assert_eq!(log.entries(), ["a", "b", "c"]);
}

#[test]
fn callbacks_scheduled_by_a_batch_wait_for_the_next_iteration() {
    let (event_loop, _) = new_loop();
    let log = Log::default();
    let inner = log.clone();
    event_loop.call_soon(move |event_loop| {
        inner.push("first");
        event_loop.call_soon(inner.says("scheduled by first"));
    });
    event_loop.call_soon(log.says("second"));

    event_loop.run_once().unwrap();
    assert_eq!(log.entries(), ["first", "second"]);
    event_loop.run_once().unwrap();
    assert_eq!(log.entries(), ["first", "second", "scheduled by first"]);
}

#[test]
fn timers_run_in_time_order_and_equal_times_fifo() {
    let (event_loop, clock) = new_loop();
    let log = Log::default();
    for (delay, name) in [
        (0.3, "c"),
        (0.1, "a1"),
        (0.2, "b"),
        (0.1, "a2"),
        (0.1, "a3"),
    ] {
        event_loop.call_later(delay, log.says_at(name)).unwrap();
    }
    run_until_idle(&event_loop);
    assert_eq!(
        log.entries(),
        ["a1@0.1", "a2@0.1", "a3@0.1", "b@0.2", "c@0.3"]
    );
    assert_eq!(clock.now().as_nanos(), 300_000_000);
}

#[test]
fn call_at_uses_the_loops_clock() {
    let (event_loop, clock) = new_loop();
    clock.advance(std::time::Duration::from_secs(10));
    let log = Log::default();
    let handle = event_loop.call_at(12.5, log.says_at("at")).unwrap();
    assert_eq!(handle.when(), Some(12.5));
    run_until_idle(&event_loop);
    assert_eq!(log.entries(), ["at@12.5"]);
}

#[test]
fn call_later_zero_runs_after_callbacks_already_queued() {
    let (event_loop, _) = new_loop();
    let log = Log::default();
    event_loop.call_soon(log.says("soon 1"));
    event_loop.call_later(0.0, log.says("later 0")).unwrap();
    event_loop.call_soon(log.says("soon 2"));
    event_loop.run_once().unwrap();
    // One iteration: the ready queue first, then the timers that are due.
    assert_eq!(log.entries(), ["soon 1", "soon 2", "later 0"]);
}

#[test]
fn a_negative_delay_is_due_now_and_sorts_before_zero() {
    let (event_loop, clock) = new_loop();
    let log = Log::default();
    event_loop.call_later(0.0, log.says("zero")).unwrap();
    event_loop.call_later(-1.0, log.says("minus one")).unwrap();
    event_loop.run_once().unwrap();
    assert_eq!(log.entries(), ["minus one", "zero"]);
    assert_eq!(clock.now().as_nanos(), 0, "nothing waited");
}

#[test]
fn odd_delays_are_refused_and_schedule_nothing() {
    let (event_loop, _) = new_loop();
    let cases = [
        (f64::NAN, TimeError::NotANumber),
        (f64::INFINITY, TimeError::Infinite(f64::INFINITY)),
        (f64::NEG_INFINITY, TimeError::Infinite(f64::NEG_INFINITY)),
        (1e12, TimeError::OutOfRange(1e12)),
    ];
    for (delay, error) in cases {
        let outcome = event_loop.call_later(delay, |_| unreachable!());
        assert_eq!(outcome.err(), Some(error));
        let outcome = event_loop.call_at(delay, |_| unreachable!());
        assert_eq!(outcome.err(), Some(error));
    }
    assert_eq!(event_loop.scheduled_count(), 0);
    assert_eq!(
        TimeError::NotANumber.to_string(),
        "a delay or time of NaN seconds means nothing"
    );
}

#[test]
fn a_cancelled_callback_does_not_run_and_its_captures_are_freed_at_once() {
    let (event_loop, _) = new_loop();
    let captured = Rc::new(());
    let held = captured.clone();
    let timer = event_loop.call_later(1.0, move |_| drop(held)).unwrap();
    let soon = event_loop.call_soon(|_| panic!("cancelled, must not run"));
    assert_eq!(Rc::strong_count(&captured), 2);

    timer.cancel();
    soon.cancel();
    assert_eq!(
        Rc::strong_count(&captured),
        1,
        "cancel dropped the callback"
    );
    assert!(timer.cancelled() && soon.cancelled());
    timer.cancel(); // twice: harmless
    run_until_idle(&event_loop);
    assert_eq!(event_loop.scheduled_count(), 0);
}

#[test]
fn cancelling_after_the_callback_ran_is_harmless() {
    let (event_loop, _) = new_loop();
    let log = Log::default();
    let handle = event_loop.call_later(0.5, log.says("ran")).unwrap();
    run_until_idle(&event_loop);
    handle.cancel();
    assert_eq!(log.entries(), ["ran"]);
    // The cancel must not count a timer that is no longer scheduled: with
    // 101 live timers the schedule must not be compacted.
    for _ in 0..=MIN_SCHEDULED_TIMERS {
        event_loop.call_later(5.0, |_| {}).unwrap();
    }
    event_loop.call_soon(|_| {});
    event_loop.run_once().unwrap();
    assert_eq!(event_loop.scheduled_count(), MIN_SCHEDULED_TIMERS + 1);
}

#[test]
fn cancelled_timers_are_compacted_by_asyncios_rule() {
    // More than 100 timers and more than half cancelled: rebuilt at once.
    let (event_loop, _) = new_loop();
    let handles: Vec<_> = (0..200)
        .map(|i| event_loop.call_later(10.0 + f64::from(i), |_| {}).unwrap())
        .collect();
    for handle in &handles[..101] {
        handle.cancel();
    }
    event_loop.call_soon(|_| {});
    event_loop.run_once().unwrap();
    assert_eq!(event_loop.scheduled_count(), 99);

    // Exactly half cancelled is not more than half: only the cancelled
    // timers at the front are dropped, the rest wait for their turn.
    let (event_loop, _) = new_loop();
    let handles: Vec<_> = (0..200)
        .map(|i| event_loop.call_later(10.0 + f64::from(i), |_| {}).unwrap())
        .collect();
    for handle in handles.iter().skip(1).step_by(2) {
        handle.cancel(); // 100 of 200, none at the front
    }
    event_loop.call_soon(|_| {});
    event_loop.run_once().unwrap();
    assert_eq!(event_loop.scheduled_count(), 200);
}

#[test]
fn stop_finishes_the_current_batch_and_the_next_run_carries_on() {
    let (event_loop, _) = new_loop();
    let log = Log::default();
    let first = log.clone();
    event_loop.call_soon(move |event_loop| {
        first.push("stops the loop");
        event_loop.stop();
        event_loop.call_soon(first.says("next run"));
    });
    event_loop.call_soon(log.says("same batch"));
    event_loop.run_forever().unwrap();
    assert_eq!(log.entries(), ["stops the loop", "same batch"]);
    assert!(!event_loop.is_running());

    event_loop.stop(); // before run_forever: exactly one iteration
    event_loop.run_forever().unwrap();
    assert_eq!(log.entries(), ["stops the loop", "same batch", "next run"]);
    assert_eq!(event_loop.iterations(), 2);
}

#[test]
fn a_loop_with_nothing_to_wait_for_says_so_instead_of_hanging() {
    let (event_loop, _) = new_loop();
    let error = event_loop.run_forever().unwrap_err();
    assert!(matches!(error, LoopError::NothingToWaitFor));
    assert!(error.to_string().contains("wait forever"), "{error}");
    assert!(
        !event_loop.is_running(),
        "the failed run left the loop reusable"
    );
}

#[test]
fn run_forever_inside_a_callback_is_refused() {
    let (event_loop, _) = new_loop();
    let seen = Rc::new(RefCell::new(None));
    let slot = seen.clone();
    event_loop.call_soon(move |event_loop| {
        *slot.borrow_mut() = Some(event_loop.run_forever().map_err(|e| e.to_string()));
        event_loop.stop();
    });
    event_loop.run_forever().unwrap();
    assert_eq!(
        *seen.borrow(),
        Some(Err("this event loop is already running".to_string()))
    );
}

#[test]
fn a_panicking_callback_is_reported_with_its_handle_and_the_loop_goes_on() {
    let (event_loop, _) = new_loop();
    let reports: Rc<RefCell<Vec<CallbackPanic>>> = Rc::default();
    let sink = reports.clone();
    event_loop.set_exception_handler(move |_, report| sink.borrow_mut().push(report.clone()));
    let log = Log::default();
    let line = line!() + 1;
    event_loop.call_later(1.0, |_| panic!("boom")).unwrap();
    event_loop
        .call_later(2.0, log.says("after the panic"))
        .unwrap();
    run_until_idle(&event_loop);

    assert_eq!(log.entries(), ["after the panic"]);
    let reports = reports.borrow();
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].message, "boom");
    let expected = format!("<TimerHandle when=1 scheduled at {}:{line}:", file!());
    assert!(
        reports[0].handle.starts_with(&expected),
        "{}",
        reports[0].handle
    );
}

#[test]
fn the_loop_sleeps_exactly_until_the_next_timer() {
    let (event_loop, clock) = new_loop();
    let log = Log::default();
    event_loop.call_later(1.5, log.says_at("t")).unwrap();
    event_loop.run_once().unwrap();
    assert_eq!(log.entries(), ["t@1.5"], "one iteration: sleep, then run");
    assert_eq!(clock.now().as_nanos(), 1_500_000_000);
}
