//! Debug mode on the textbook loop: a callback that held the loop for
//! `slow_callback_duration` or longer is reported to the exception handler,
//! named as it described itself or as its handle; a quicker one is not.
//! On the virtual clock: a callback "blocks" by moving the clock on.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use stage01_generator_loop::{Clock, VirtualClock};
use stage02_timed_events::{AbstractEventLoop, EventLoop, LoopError};

/// A loop in debug mode whose exception handler keeps every message.
fn debug_loop(clock: &VirtualClock) -> (EventLoop, Rc<RefCell<Vec<String>>>) {
    let event_loop = EventLoop::new(clock.clone());
    event_loop.set_debug(true);
    let reports = Rc::new(RefCell::new(Vec::new()));
    let kept = Rc::clone(&reports);
    event_loop
        .set_exception_handler(move |_, report| kept.borrow_mut().push(report.message.clone()));
    (event_loop, reports)
}

#[test]
fn a_slow_callback_is_reported_with_its_handle_and_a_quick_one_is_not() {
    let clock = VirtualClock::new();
    let (event_loop, reports) = debug_loop(&clock);
    assert!(event_loop.get_debug());
    assert_eq!(event_loop.slow_callback_duration(), 0.1);
    let (slow, quick) = (clock.clone(), clock.clone());
    event_loop
        .call_soon(move |_| slow.sleep(Duration::from_millis(250)))
        .unwrap();
    event_loop
        .call_soon(move |_| quick.sleep(Duration::from_millis(99)))
        .unwrap();
    event_loop.run_once().unwrap();
    let reports = reports.borrow();
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert!(
        reports[0]
            .starts_with("Executing <Handle created at crates/02-timed-events/tests/debug.rs:"),
        "{}",
        reports[0]
    );
    assert!(
        reports[0].ends_with("> took 0.250 seconds"),
        "{}",
        reports[0]
    );
}

#[test]
fn a_callback_that_describes_itself_is_reported_by_that_name() {
    let clock = VirtualClock::new();
    let (event_loop, reports) = debug_loop(&clock);
    let slow = clock.clone();
    event_loop
        .call_soon(move |event_loop| {
            event_loop.describe_running(|| "<Task name=blocker>".to_string());
            slow.sleep(Duration::from_millis(100));
        })
        .unwrap();
    event_loop.run_once().unwrap();
    assert_eq!(
        *reports.borrow(),
        ["Executing <Task name=blocker> took 0.100 seconds"]
    );
}

#[test]
fn without_debug_mode_nothing_is_timed_or_reported() {
    let clock = VirtualClock::new();
    let (event_loop, reports) = debug_loop(&clock);
    event_loop.set_debug(false);
    let slow = clock.clone();
    event_loop
        .call_soon(move |event_loop| {
            event_loop.describe_running(|| unreachable!("described only in debug mode"));
            slow.sleep(Duration::from_secs(1));
        })
        .unwrap();
    event_loop.run_once().unwrap();
    assert!(reports.borrow().is_empty());
}

#[test]
fn the_threshold_can_be_set_and_nan_is_refused() {
    let clock = VirtualClock::new();
    let (event_loop, reports) = debug_loop(&clock);
    assert!(matches!(
        event_loop.set_slow_callback_duration(f64::NAN),
        Err(LoopError::NotANumber)
    ));
    event_loop.set_slow_callback_duration(-1.0).unwrap();
    assert_eq!(
        event_loop.slow_callback_duration(),
        0.0,
        "less than zero means zero"
    );
    event_loop.call_soon(|_| {}).unwrap();
    event_loop.run_once().unwrap();
    assert_eq!(
        reports.borrow().len(),
        1,
        "at zero, every callback is reported"
    );
    event_loop
        .set_slow_callback_duration(Duration::from_secs(2))
        .unwrap();
    assert_eq!(event_loop.slow_callback_duration(), 2.0);
}
