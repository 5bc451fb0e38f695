//! The guessing loop's rules, on the virtual clock with exact times: round
//! order, results, what it counts, odd guesses, panics, and sizes from zero
//! tasks to ten thousand.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use demo_support::Transcript;
use stage01_generator_loop::guessing_loop::{CLOCK_LIMIT, due_for_guess, wait_for_guess};
use stage01_generator_loop::scenarios::{self, PRINTERS, SLEEPS};
use stage01_generator_loop::{
    Clock, Coroutine, GuessError, GuessingLoop, LoopError, RealClock, Sleep, Step, TaskId,
    VirtualClock,
};

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// A coroutine that answers a fixed list of guesses, then completes with how
/// many times it was resumed.
struct Answers {
    guesses: Vec<f64>,
    resumed: u32,
}

fn answers(guesses: &[f64]) -> Answers {
    Answers {
        guesses: guesses.to_vec(),
        resumed: 0,
    }
}

impl Coroutine for Answers {
    type Yield = f64;
    type Output = u32;

    fn resume(&mut self, _now: Duration) -> Step<f64, u32> {
        self.resumed += 1;
        if self.guesses.is_empty() {
            Step::Complete(self.resumed)
        } else {
            Step::Yielded(self.guesses.remove(0))
        }
    }
}

#[test]
fn scenario_1_finishes_in_order_at_four_seconds() {
    let clock = VirtualClock::new();
    let mut event_loop = GuessingLoop::new(clock.clone());
    for s in SLEEPS {
        event_loop.create_task(Sleep::new(secs(s)));
    }
    event_loop.run_forever().unwrap();

    let done: Vec<(Duration, String)> = event_loop
        .drain_completed()
        .into_iter()
        .map(|c| (c.at, c.value))
        .collect();
    assert_eq!(
        done,
        [1, 2, 3, 4].map(|s| (secs(s), format!("Sleep {s} over")))
    );
    assert_eq!(clock.now(), secs(4));
    let stats = event_loop.stats();
    assert_eq!(
        (stats.rounds, stats.resumes, stats.early_resumes),
        (5, 14, 6)
    );
    assert_eq!(stats.slept, secs(4));
}

#[test]
fn on_time_resumes_are_exactly_the_ones_a_perfect_loop_needs() {
    // Every task needs one resume to start and one per wake-up; anything more
    // is what guessing costs. Scenario 1: four starts and four wake-ups.
    let stats = scenarios::sleep_by_guessing(VirtualClock::new(), &Transcript::new()).unwrap();
    assert_eq!(stats.resumes - stats.early_resumes, 4 + 4);

    // Scenario 2: each printer starts once and wakes once per line it prints.
    let needed: u64 = PRINTERS
        .iter()
        .map(|(_, period)| 1 + (3_000 / period.as_millis()) as u64)
        .sum();
    let stats = scenarios::composition(VirtualClock::new(), &Transcript::new()).unwrap();
    assert_eq!(stats.resumes - stats.early_resumes, needed);
    assert_eq!(needed, 4 + 4 + 13);
}

#[test]
fn gather_returns_argument_order_not_completion_order() {
    let mut event_loop = GuessingLoop::new(VirtualClock::new());
    let results = event_loop
        .gather(SLEEPS.map(|s| Sleep::new(secs(s))))
        .unwrap();
    assert_eq!(
        results,
        [
            "Sleep 3 over",
            "Sleep 2 over",
            "Sleep 1 over",
            "Sleep 4 over"
        ]
    );
}

#[test]
fn scenario_2b_and_3_print_the_same_lines() {
    let by_hand = Transcript::new();
    let stats_by_hand = scenarios::composition(VirtualClock::new(), &by_hand).unwrap();
    let with_async = Transcript::new();
    let stats_async = scenarios::composition_async(VirtualClock::new(), &with_async).unwrap();

    assert_eq!(stats_by_hand, stats_async);
    // Everything after each scenario's title line is identical.
    assert_eq!(by_hand.lines()[1..], with_async.lines()[1..]);
}

#[test]
fn the_leaky_loop_collects_every_inner_value() {
    let out = Transcript::new();
    scenarios::composition_leaky(VirtualClock::new(), &out).unwrap();
    let results = out
        .lines()
        .into_iter()
        .find(|line| line.contains("results"))
        .unwrap();
    // 3 + 3 + 12 sleeps leak their values, and the 3 printers add theirs.
    assert!(
        results.starts_with("  results (21 values from 3 tasks): Sleep 0.25 over,"),
        "{results}"
    );
    assert_eq!(results.matches("Sleep 1 over").count(), 6);
    assert_eq!(results.matches("Sleep 0.25 over").count(), 12);
    assert_eq!(results.matches("Print").count(), 3);
}

#[test]
fn create_task_runs_nothing_until_the_loop_runs() {
    let resumed = Rc::new(Cell::new(0));
    struct Counting(Rc<Cell<u32>>);
    impl Coroutine for Counting {
        type Yield = f64;
        type Output = ();
        fn resume(&mut self, _now: Duration) -> Step<f64, ()> {
            self.0.set(self.0.get() + 1);
            Step::Complete(())
        }
    }
    let mut event_loop = GuessingLoop::new(VirtualClock::new());
    let id = event_loop.create_task(Counting(resumed.clone()));
    assert_eq!(resumed.get(), 0);
    assert!(event_loop.take_result(id).is_none());
    event_loop.run_forever().unwrap();
    assert_eq!(resumed.get(), 1);
    assert_eq!(event_loop.take_result(id).unwrap().value, ());
}

#[test]
fn zero_tasks_make_no_rounds() {
    let clock = VirtualClock::new();
    let mut event_loop: GuessingLoop<_, String> = GuessingLoop::new(clock.clone());
    event_loop.run_forever().unwrap();
    assert_eq!(event_loop.stats().rounds, 0);
    assert_eq!(event_loop.gather(Vec::<Sleep>::new()), Ok(vec![]));
    assert_eq!(clock.now(), Duration::ZERO);
}

#[test]
fn a_task_done_on_its_first_resume_needs_one_round_and_no_sleep() {
    let clock = VirtualClock::new();
    let mut event_loop = GuessingLoop::new(clock.clone());
    assert_eq!(event_loop.run_until_complete(answers(&[])), Ok(1));
    let stats = event_loop.stats();
    assert_eq!(
        (stats.rounds, stats.resumes, stats.slept),
        (1, 1, Duration::ZERO)
    );
    assert_eq!(clock.now(), Duration::ZERO);
}

#[test]
fn ten_thousand_tasks_all_complete_in_time_order() {
    let clock = VirtualClock::new();
    let mut event_loop = GuessingLoop::new(clock.clone());
    // Durations 1..=100 ms, each used by 100 tasks, created in shuffled order.
    let durations: Vec<u64> = (0..10_000u64).map(|i| (i * 37) % 100 + 1).collect();
    for &ms in &durations {
        event_loop.create_task(Sleep::new(Duration::from_millis(ms)));
    }
    event_loop.run_forever().unwrap();

    let done = event_loop.drain_completed();
    assert_eq!(done.len(), 10_000);
    assert!(done.windows(2).all(|pair| pair[0].at <= pair[1].at));
    for completed in &done {
        let ms = durations[completed.task.0];
        assert_eq!(completed.at, Duration::from_millis(ms));
    }
    // Within one round, tasks complete in creation order.
    assert!(
        done.windows(2)
            .all(|p| p[0].at < p[1].at || p[0].task < p[1].task)
    );
    assert_eq!(event_loop.stats().rounds, 101);
    assert_eq!(clock.now(), Duration::from_millis(100));
}

#[test]
fn run_until_complete_leaves_slower_tasks_pending() {
    let clock = VirtualClock::new();
    let mut event_loop = GuessingLoop::new(clock.clone());
    let slow = event_loop.create_task(Sleep::new(secs(10)));
    let value = event_loop.run_until_complete(Sleep::new(secs(2))).unwrap();
    assert_eq!(value, "Sleep 2 over");
    assert_eq!(clock.now(), secs(2));
    assert_eq!(event_loop.pending_count(), 1);
    event_loop.run_forever().unwrap();
    assert_eq!(event_loop.take_result(slow).unwrap().at, secs(10));
}

// ANCHOR: odd_guesses
#[test]
fn the_guess_rule() {
    assert_eq!(wait_for_guess(1.5), Ok(Duration::from_millis(1500)));
    assert_eq!(wait_for_guess(0.0), Ok(Duration::ZERO));
    assert_eq!(wait_for_guess(-0.0), Ok(Duration::ZERO));
    assert_eq!(wait_for_guess(-2.0), Ok(Duration::ZERO)); // overdue: no wait
    assert_eq!(wait_for_guess(f64::NAN), Err(GuessError::NotANumber));
    assert_eq!(wait_for_guess(f64::INFINITY), Err(GuessError::NotFinite));
    assert_eq!(
        wait_for_guess(f64::NEG_INFINITY),
        Err(GuessError::NotFinite)
    );
    // Past the ~584 years the loop's clock can count, even if a Duration could.
    assert_eq!(wait_for_guess(1e11), Err(GuessError::TooLong));
    assert_eq!(wait_for_guess(1e30), Err(GuessError::TooLong));
}
// ANCHOR_END: odd_guesses

#[test]
fn the_clock_limit_is_the_last_nanosecond_a_u64_counts() {
    assert_eq!(CLOCK_LIMIT, Duration::from_nanos(u64::MAX));
    // u64::MAX nanoseconds is 18_446_744_073.709_551_615 seconds.
    assert_eq!(wait_for_guess(18_446_744_073.0), Ok(secs(18_446_744_073)));
    assert_eq!(wait_for_guess(18_446_744_074.0), Err(GuessError::TooLong));
    // Added to a late `now`, a short guess can pass the limit too.
    let late = CLOCK_LIMIT - secs(10);
    assert_eq!(due_for_guess(late, 10.0), Ok(CLOCK_LIMIT));
    assert_eq!(due_for_guess(late, 11.0), Err(GuessError::TooLong));
    assert_eq!(due_for_guess(late, -1.0), Ok(late));
    assert_eq!(due_for_guess(CLOCK_LIMIT, 0.0), Ok(CLOCK_LIMIT));
    assert_eq!(
        due_for_guess(CLOCK_LIMIT, f64::NAN),
        Err(GuessError::NotANumber)
    );
}

/// Asserts that `error` is the loop refusing `guess` from `task` as too long.
fn assert_too_long(error: LoopError, task: TaskId, guess: f64) {
    assert_eq!(
        error,
        LoopError::BadGuess {
            task,
            guess,
            problem: GuessError::TooLong
        }
    );
}

#[test]
fn guesses_past_the_clock_limit_are_errors_not_panics() {
    // Each of these fits in a Duration or not, but none fits on the clock.
    for guess in [1e11, 1e15, 1e19, 1e30, f64::MAX] {
        let clock = VirtualClock::new();
        let mut event_loop = GuessingLoop::new(clock.clone());
        let before = event_loop.create_task(answers(&[1.0]));
        let bad = event_loop.create_task(answers(&[guess]));
        let after = event_loop.create_task(answers(&[1.0]));

        assert_too_long(event_loop.run_once().unwrap_err(), bad, guess);
        // The bad task is gone, the clock has not moved, and the others are
        // pending: the round stopped before `after` ran, as for any error.
        assert_eq!(event_loop.pending_count(), 2);
        assert_eq!(clock.now(), Duration::ZERO);
        event_loop.run_forever().unwrap();
        assert_eq!(event_loop.take_result(before).unwrap().value, 2);
        assert_eq!(event_loop.take_result(after).unwrap().value, 2);
        assert_eq!(clock.now(), secs(1));

        // The same through `run_until_complete`, with a task left pending.
        let mut event_loop = GuessingLoop::new(VirtualClock::new());
        event_loop.create_task(answers(&[1.0]));
        let error = event_loop
            .run_until_complete(answers(&[guess]))
            .unwrap_err();
        assert_too_long(error, TaskId(1), guess);
        assert_eq!(event_loop.pending_count(), 1);
    }
}

#[test]
fn a_guess_that_fits_alone_but_not_after_a_late_now_is_refused() {
    let clock = VirtualClock::new();
    // Ten seconds before the end of what the clock can count.
    clock.advance(CLOCK_LIMIT - secs(10));
    let mut event_loop = GuessingLoop::new(clock.clone());
    let fits = event_loop.create_task(Sleep::new(secs(10))); // ends on the last nanosecond
    let late = event_loop.create_task(Sleep::new(secs(11))); // guesses 11.0: one second too many

    assert_too_long(event_loop.run_forever().unwrap_err(), late, 11.0);
    assert_eq!(event_loop.pending_count(), 1);
    event_loop.run_forever().unwrap();
    let done = event_loop.take_result(fits).unwrap();
    assert_eq!(done.at, CLOCK_LIMIT);
    assert_eq!(done.value, "Sleep 10 over");
    assert_eq!(clock.now(), CLOCK_LIMIT);
}

#[test]
fn the_real_clock_refuses_the_same_guesses_without_sleeping() {
    for guess in [1e11, 1e19, f64::MAX] {
        let mut event_loop = GuessingLoop::new(RealClock::new());
        let bad = event_loop.create_task(answers(&[guess]));
        // One round, so that a loop without the rule fails here instead of
        // sleeping for thousands of years in the next.
        assert_too_long(event_loop.run_once().unwrap_err(), bad, guess);
        assert_eq!(event_loop.pending_count(), 0);
        assert_eq!(event_loop.stats().slept, Duration::ZERO);
    }
}

#[test]
fn zero_and_negative_guesses_resume_next_round_without_sleeping() {
    let clock = VirtualClock::new();
    let mut event_loop = GuessingLoop::new(clock.clone());
    let value = event_loop
        .run_until_complete(answers(&[0.0, -3.0, 0.0]))
        .unwrap();
    assert_eq!(value, 4);
    assert_eq!(event_loop.stats().rounds, 4);
    assert_eq!(event_loop.stats().early_resumes, 0);
    assert_eq!(clock.now(), Duration::ZERO);
}

#[test]
fn bad_guesses_stop_the_loop_with_an_error_naming_the_task() {
    for (guess, problem) in [
        (f64::NAN, GuessError::NotANumber),
        (f64::INFINITY, GuessError::NotFinite),
        (f64::NEG_INFINITY, GuessError::NotFinite),
        (1e11, GuessError::TooLong),
        (1e30, GuessError::TooLong),
    ] {
        let mut event_loop = GuessingLoop::new(VirtualClock::new());
        let good = event_loop.create_task(answers(&[1.0]));
        let bad = event_loop.create_task(answers(&[guess]));
        let error = event_loop.run_forever().unwrap_err();
        match error {
            LoopError::BadGuess {
                task,
                guess: seen,
                problem: why,
            } => {
                assert_eq!(task, bad);
                assert_eq!(why, problem);
                assert!(seen.is_nan() == guess.is_nan() && (seen.is_nan() || seen == guess));
            }
            other => panic!("expected a bad guess, got {other:?}"),
        }
        // The bad task is gone; the good one is untouched and can finish.
        assert_eq!(event_loop.pending_count(), 1);
        event_loop.run_forever().unwrap();
        assert_eq!(event_loop.take_result(good).unwrap().value, 2);
    }
}

#[test]
fn error_messages_say_what_was_wrong() {
    let error = LoopError::BadGuess {
        task: TaskId(3),
        guess: f64::NAN,
        problem: GuessError::NotANumber,
    };
    assert_eq!(
        error.to_string(),
        "task 3 guessed NaN seconds, which is not a number"
    );
}

#[test]
fn huge_guesses_print_short() {
    let message = |guess: f64| {
        LoopError::BadGuess {
            task: TaskId(1),
            guess,
            problem: GuessError::TooLong,
        }
        .to_string()
    };
    assert_eq!(
        message(1e30),
        "task 1 guessed 1e30 seconds, which would wake it after the loop's clock runs out \
         (about 584 years)"
    );
    assert!(message(1e300).contains(" 1e300 seconds"));
    assert!(message(f64::MAX).contains(" 1.7976931348623157e308 seconds"));
    // Below 1e16 every whole number is exact, and prints in full.
    assert!(message(1e11).contains(" 100000000000 seconds"));
    assert!(message(11.0).contains(" 11 seconds"));
}

#[test]
fn a_panicking_task_becomes_an_error_and_the_others_carry_on() {
    struct Panics;
    impl Coroutine for Panics {
        type Yield = f64;
        type Output = u32;
        fn resume(&mut self, _now: Duration) -> Step<f64, u32> {
            panic!("boom at resume");
        }
    }
    let mut event_loop = GuessingLoop::new(VirtualClock::new());
    let first = event_loop.create_task(answers(&[1.0]));
    let panics = event_loop.create_task(Panics);
    let last = event_loop.create_task(answers(&[1.0]));

    let error = event_loop.run_once().unwrap_err();
    assert_eq!(
        error,
        LoopError::Panicked {
            task: panics,
            message: "boom at resume".into()
        }
    );
    // The round stopped at the panic: the last task has not run yet.
    assert_eq!(event_loop.stats().resumes, 2);
    event_loop.run_forever().unwrap();
    assert_eq!(event_loop.take_result(first).unwrap().value, 2);
    assert_eq!(event_loop.take_result(last).unwrap().value, 2);
}

#[test]
fn a_future_that_suspends_without_a_guess_is_reported() {
    use stage01_generator_loop::AsyncCoroutine;
    let mut event_loop = GuessingLoop::new(VirtualClock::new());
    let error = event_loop
        .run_until_complete(AsyncCoroutine::new(|_| std::future::pending::<()>()))
        .unwrap_err();
    match error {
        LoopError::Panicked { message, .. } => {
            assert!(message.contains("Pending without yielding"), "{message}")
        }
        other => panic!("expected a panic report, got {other:?}"),
    }
}
