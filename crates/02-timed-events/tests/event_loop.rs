//! The callback loop's rules, on the virtual clock with exact times: the order
//! callbacks run in, what one iteration runs, timers and their cancellation,
//! stopping, odd delays, panics, and a loop with nothing to wait for. Every
//! test runs on the textbook loop and on the fast one.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use demo_support::Transcript;
use stage01_generator_loop::{Clock, VirtualClock};
use stage02_timed_events::event_loop::MIN_SCHEDULED_TIMERS;
use stage02_timed_events::fast::on_both_loops;
use stage02_timed_events::seconds::NEVER;
use stage02_timed_events::{AbstractEventLoop, CallbackPanic, EventLoop, LoopError, TimerHandle};

/// Stage 1's transcript, with callbacks that write to it.
#[derive(Clone, Default)]
struct Log(Transcript);

impl Log {
    fn push(&self, entry: impl Into<String>) {
        self.0.say(entry);
    }

    /// A callback that logs `entry`.
    fn says<L>(&self, entry: &str) -> impl FnOnce(&L) + 'static {
        let (log, entry) = (self.clone(), entry.to_string());
        move |_| log.push(entry)
    }

    /// A callback that logs `entry` with the loop time.
    fn says_at<L: AbstractEventLoop>(&self, entry: &str) -> impl FnOnce(&L) + 'static {
        let (log, entry) = (self.clone(), entry.to_string());
        move |event_loop| log.push(format!("{entry}@{}", event_loop.time()))
    }

    fn entries(&self) -> Vec<String> {
        self.0.lines()
    }
}

/// Run until the loop has nothing left: stop from a timer far in the future
/// would move the clock, so stop once nothing is ready or scheduled.
fn run_until_idle(event_loop: &impl AbstractEventLoop) {
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
    fn test<L: AbstractEventLoop>(event_loop: L, _: VirtualClock) {
        let log = Log::default();
        for name in ["a", "b", "c"] {
            event_loop.call_soon(log.says(name)).unwrap();
        }
        assert!(log.entries().is_empty(), "call_soon ran a callback inline");
        event_loop.run_once().unwrap();
        assert_eq!(log.entries(), ["a", "b", "c"]);
    }
    on_both_loops(test, test);
}

#[test]
fn callbacks_scheduled_by_a_batch_wait_for_the_next_iteration() {
    fn test<L: AbstractEventLoop>(event_loop: L, _: VirtualClock) {
        let log = Log::default();
        let inner = log.clone();
        event_loop
            .call_soon(move |event_loop| {
                inner.push("first");
                event_loop
                    .call_soon(inner.says("scheduled by first"))
                    .unwrap();
            })
            .unwrap();
        event_loop.call_soon(log.says("second")).unwrap();

        event_loop.run_once().unwrap();
        assert_eq!(log.entries(), ["first", "second"]);
        event_loop.run_once().unwrap();
        assert_eq!(log.entries(), ["first", "second", "scheduled by first"]);
    }
    on_both_loops(test, test);
}

#[test]
fn timers_run_in_time_order_and_equal_times_fifo() {
    fn test<L: AbstractEventLoop>(event_loop: L, clock: VirtualClock) {
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
    on_both_loops(test, test);
}

#[test]
fn call_at_uses_the_loops_clock_and_delays_may_be_durations() {
    fn test<L: AbstractEventLoop>(event_loop: L, clock: VirtualClock) {
        clock.advance(Duration::from_secs(10));
        let log = Log::default();
        let handle = event_loop.call_at(12.5, log.says_at("at")).unwrap();
        assert_eq!(handle.when(), Some(12.5));
        let later = event_loop.call_later(Duration::from_millis(1500), log.says_at("later"));
        assert_eq!(later.unwrap().when(), Some(11.5));
        run_until_idle(&event_loop);
        assert_eq!(log.entries(), ["later@11.5", "at@12.5"]);
    }
    on_both_loops(test, test);
}

#[test]
fn call_later_zero_runs_after_callbacks_already_queued() {
    fn test<L: AbstractEventLoop>(event_loop: L, _: VirtualClock) {
        let log = Log::default();
        event_loop.call_soon(log.says("soon 1")).unwrap();
        event_loop.call_later(0.0, log.says("later 0")).unwrap();
        event_loop.call_soon(log.says("soon 2")).unwrap();
        event_loop.run_once().unwrap();
        // One iteration: the ready queue first, then the timers that are due.
        assert_eq!(log.entries(), ["soon 1", "soon 2", "later 0"]);
    }
    on_both_loops(test, test);
}

#[test]
fn a_negative_delay_is_due_now_and_sorts_before_zero() {
    fn test<L: AbstractEventLoop>(event_loop: L, clock: VirtualClock) {
        let log = Log::default();
        event_loop.call_later(0.0, log.says("zero")).unwrap();
        event_loop.call_later(-1.0, log.says("minus one")).unwrap();
        event_loop.run_once().unwrap();
        assert_eq!(log.entries(), ["minus one", "zero"]);
        assert_eq!(clock.now().as_nanos(), 0, "nothing waited");
    }
    on_both_loops(test, test);
}

#[test]
fn nan_is_refused_and_schedules_nothing() {
    fn test<L: AbstractEventLoop>(event_loop: L, _: VirtualClock) {
        let outcome = event_loop.call_later(f64::NAN, |_| unreachable!());
        assert!(matches!(outcome, Err(LoopError::NotANumber)));
        let outcome = event_loop.call_at(f64::NAN, |_| unreachable!());
        assert!(matches!(outcome, Err(LoopError::NotANumber)));
        assert_eq!(event_loop.scheduled_count(), 0);
        assert_eq!(
            LoopError::NotANumber.to_string(),
            "a delay or time of NaN seconds means nothing"
        );
    }
    on_both_loops(test, test);
}

#[test]
fn a_timer_past_what_the_clock_counts_never_fires_and_is_never_waited_for() {
    fn test<L: AbstractEventLoop>(event_loop: L, clock: VirtualClock) {
        let log = Log::default();
        for delay in [f64::INFINITY, 1e300, 1e10] {
            let handle = event_loop.call_later(delay, log.says("never")).unwrap();
            assert_eq!(handle.when(), Some(f64::INFINITY), "{delay}");
        }
        let forever = event_loop.call_later(Duration::MAX, log.says("never"));
        assert_eq!(forever.unwrap().when(), Some(f64::INFINITY));
        event_loop.call_later(1.0, log.says_at("soon")).unwrap();
        event_loop
            .call_at(f64::NEG_INFINITY, log.says("long ago"))
            .unwrap();
        // Waiting for NEVER would be waiting for ever: the loop says so.
        run_until_idle(&event_loop);
        assert_eq!(log.entries(), ["long ago", "soon@1"]);
        assert_eq!(clock.now(), Duration::from_secs(1));
        assert_eq!(event_loop.scheduled_count(), 4);
        assert_eq!(
            event_loop.call_at_nanos(NEVER, |_| {}).unwrap().to_string()[..27],
            *"<TimerHandle when=inf creat"
        );
    }
    on_both_loops(test, test);
}

#[test]
fn a_cancelled_callback_does_not_run_and_its_captures_are_freed_at_once() {
    fn test<L: AbstractEventLoop>(event_loop: L, _: VirtualClock) {
        let captured = Rc::new(());
        let held = captured.clone();
        let timer = event_loop.call_later(1.0, move |_| drop(held)).unwrap();
        let soon = event_loop
            .call_soon(|_| panic!("cancelled, must not run"))
            .unwrap();
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
    on_both_loops(test, test);
}

#[test]
fn cancelling_after_the_callback_ran_is_harmless() {
    fn test<L: AbstractEventLoop>(event_loop: L, _: VirtualClock) {
        let log = Log::default();
        let handle = event_loop.call_later(0.5, log.says("ran")).unwrap();
        run_until_idle(&event_loop);
        handle.cancel();
        assert_eq!(log.entries(), ["ran"]);
        // The cancel must not count a timer that is no longer scheduled:
        // with 101 live timers the heap must not be compacted.
        for _ in 0..=MIN_SCHEDULED_TIMERS {
            event_loop.call_later(5.0, |_| {}).unwrap();
        }
        event_loop.call_soon(|_| {}).unwrap();
        event_loop.run_once().unwrap();
        assert_eq!(event_loop.scheduled_count(), MIN_SCHEDULED_TIMERS + 1);
    }
    on_both_loops(test, test);
}

#[test]
fn cancelled_timers_are_compacted_by_asyncios_rule() {
    fn test<L: AbstractEventLoop>(event_loop: L, _: VirtualClock) {
        // More than 100 timers and more than half cancelled: rebuilt at once.
        let handles: Vec<_> = (0..200)
            .map(|i| event_loop.call_later(10.0 + f64::from(i), |_| {}).unwrap())
            .collect();
        for handle in &handles[..101] {
            handle.cancel();
        }
        event_loop.call_soon(|_| {}).unwrap();
        event_loop.run_once().unwrap();
        assert_eq!(event_loop.scheduled_count(), 99);
        for handle in &handles[101..] {
            handle.cancel();
        }
    }
    on_both_loops(test, test);
    fn half<L: AbstractEventLoop>(event_loop: L, _: VirtualClock) {
        // Exactly half cancelled is not more than half: only the cancelled
        // timers at the front are dropped, the rest wait for their turn.
        let handles: Vec<_> = (0..200)
            .map(|i| event_loop.call_later(10.0 + f64::from(i), |_| {}).unwrap())
            .collect();
        for handle in handles.iter().skip(1).step_by(2) {
            handle.cancel(); // 100 of 200, none at the front
        }
        event_loop.call_soon(|_| {}).unwrap();
        event_loop.run_once().unwrap();
        assert_eq!(event_loop.scheduled_count(), 200);
    }
    on_both_loops(half, half);
}

#[test]
fn a_timer_that_survived_a_compaction_can_still_be_cancelled() {
    fn test<L: AbstractEventLoop>(event_loop: L, clock: VirtualClock) {
        // Compact (101 of 200 cancelled), then cancel one that survived:
        // it must be counted as cancelled and skipped, like any other.
        let log = Log::default();
        let handles: Vec<_> = (0..200)
            .map(|i| {
                let text = format!("timer {i}");
                event_loop
                    .call_later(10.0 + f64::from(i), log.says(&text))
                    .unwrap()
            })
            .collect();
        for handle in &handles[..101] {
            handle.cancel();
        }
        event_loop.call_soon(|_| {}).unwrap();
        event_loop.run_once().unwrap();
        assert_eq!(event_loop.scheduled_count(), 99);
        handles[101].cancel();
        for handle in &handles[103..] {
            handle.cancel();
        }
        run_until_idle(&event_loop);
        assert_eq!(log.entries(), ["timer 102"]);
        assert_eq!(clock.now(), Duration::from_secs(112));
        assert_eq!(event_loop.scheduled_count(), 0);
    }
    on_both_loops(test, test);
}

#[test]
fn stop_finishes_the_current_batch_and_the_next_run_carries_on() {
    fn test<L: AbstractEventLoop>(event_loop: L, _: VirtualClock) {
        let log = Log::default();
        let first = log.clone();
        event_loop
            .call_soon(move |event_loop| {
                first.push("stops the loop");
                event_loop.stop();
                event_loop.call_soon(first.says("next run")).unwrap();
            })
            .unwrap();
        event_loop.call_soon(log.says("same batch")).unwrap();
        event_loop.run_forever().unwrap();
        assert_eq!(log.entries(), ["stops the loop", "same batch"]);
        assert!(!event_loop.is_running());

        event_loop.stop(); // before run_forever: exactly one iteration
        event_loop.run_forever().unwrap();
        assert_eq!(log.entries(), ["stops the loop", "same batch", "next run"]);
        assert_eq!(event_loop.iterations(), 2);
    }
    on_both_loops(test, test);
}

#[test]
fn a_loop_with_nothing_to_wait_for_says_so_instead_of_hanging() {
    fn test<L: AbstractEventLoop>(event_loop: L, _: VirtualClock) {
        let error = event_loop.run_forever().unwrap_err();
        assert!(matches!(error, LoopError::NothingToWaitFor));
        assert!(error.to_string().contains("wait forever"), "{error}");
        assert!(
            !event_loop.is_running(),
            "the failed run left the loop reusable"
        );
    }
    on_both_loops(test, test);
}

#[test]
fn run_forever_and_run_once_inside_a_callback_are_refused() {
    fn test<L: AbstractEventLoop>(event_loop: L, _: VirtualClock) {
        let seen = Rc::new(RefCell::new(Vec::new()));
        let slot = seen.clone();
        event_loop
            .call_soon(move |event_loop| {
                slot.borrow_mut()
                    .push(event_loop.run_forever().map_err(|e| e.to_string()));
                slot.borrow_mut()
                    .push(event_loop.run_once().map_err(|e| e.to_string()));
                event_loop.stop();
            })
            .unwrap();
        event_loop.run_forever().unwrap();
        let refused = Err("this event loop is already running".to_string());
        assert_eq!(*seen.borrow(), [refused.clone(), refused]);
        assert_eq!(event_loop.iterations(), 1, "no iteration ran inside one");
    }
    on_both_loops(test, test);
}

#[test]
fn another_loop_cannot_run_inside_a_running_one() {
    fn test<L: AbstractEventLoop>(event_loop: L, _: VirtualClock) {
        let seen = Rc::new(RefCell::new(None));
        let slot = seen.clone();
        event_loop
            .call_soon(move |event_loop| {
                let other = EventLoop::new(VirtualClock::new());
                *slot.borrow_mut() = Some(other.run_forever().map_err(|e| e.to_string()));
                event_loop.stop();
            })
            .unwrap();
        event_loop.run_forever().unwrap();
        let expected = "cannot run the event loop while another loop is running in this thread";
        assert_eq!(*seen.borrow(), Some(Err(expected.to_string())));
    }
    on_both_loops(test, test);
}

#[test]
fn a_panicking_callback_is_reported_with_its_handle_and_the_loop_goes_on() {
    fn test<L: AbstractEventLoop>(event_loop: L, _: VirtualClock) {
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
        let expected = format!("<TimerHandle when=1 created at {}:{line}:", file!());
        assert!(
            reports[0].handle.starts_with(&expected),
            "{}",
            reports[0].handle
        );
    }
    on_both_loops(test, test);
}

#[test]
fn a_panicking_exception_handler_is_reported_and_the_loop_goes_on() {
    fn test<L: AbstractEventLoop>(event_loop: L, _: VirtualClock) {
        event_loop.set_exception_handler(|_, _| panic!("the handler broke"));
        let log = Log::default();
        event_loop.call_soon(|_| panic!("boom")).unwrap();
        event_loop.call_soon(log.says("after both panics")).unwrap();
        event_loop.call_later(1.0, L::stop).unwrap();
        event_loop.run_forever().unwrap();
        assert_eq!(log.entries(), ["after both panics"]);
        assert!(!event_loop.is_running(), "no way out leaves it running");
        event_loop.call_soon(L::stop).unwrap();
        event_loop.run_forever().unwrap();
    }
    on_both_loops(test, test);
}

#[test]
fn the_loop_sleeps_exactly_until_the_next_timer() {
    fn test<L: AbstractEventLoop>(event_loop: L, clock: VirtualClock) {
        let log = Log::default();
        event_loop.call_later(1.5, log.says_at("t")).unwrap();
        event_loop.run_once().unwrap();
        assert_eq!(log.entries(), ["t@1.5"], "one iteration: sleep, then run");
        assert_eq!(clock.now().as_nanos(), 1_500_000_000);
    }
    on_both_loops(test, test);
}

#[test]
fn a_timer_set_in_a_reserved_place_runs_where_it_was_reserved() {
    // Only the textbook loop reserves places (stage 5's fast timeout scope
    // asks for it): a timer set late runs before those due at the same
    // moment that were set after its place was taken.
    let clock = VirtualClock::new();
    let event_loop = EventLoop::new(clock.clone());
    let log = Log::default();
    let reserved = event_loop.reserve_timer(100_000_000);
    event_loop.call_later(0.1, log.says_at("a2")).unwrap();
    event_loop.call_later(0.05, log.says_at("early")).unwrap();
    event_loop.call_later(0.1, log.says_at("a3")).unwrap();
    let handle = event_loop
        .call_at_reserved(reserved, log.says_at("a1, set last"))
        .unwrap();
    assert_eq!(handle.when(), Some(0.1));
    run_until_idle(&event_loop);
    assert_eq!(
        log.entries(),
        ["early@0.05", "a1, set last@0.1", "a2@0.1", "a3@0.1"]
    );

    let reserved = event_loop.reserve_timer(200_000_000);
    event_loop.close().unwrap();
    let refused = event_loop.call_at_reserved(reserved, |_| {});
    assert!(matches!(refused, Err(LoopError::Closed)), "{refused:?}");
}
