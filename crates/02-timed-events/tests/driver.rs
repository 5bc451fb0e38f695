//! Coroutines on the timed loops, on the virtual clock: scenario 4 on the
//! naive loops and on the callback loop, scenario 9, `sleep(0)`, sleeps that
//! never end, waits undone, and tasks that panic or are cut short.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use demo_support::{Timeline, Transcript};
use stage01_generator_loop::{AsyncCoroutine, Clock, Coroutine, VirtualClock, Yielder};
use stage02_timed_events::driver::SleepUntil;
use stage02_timed_events::fast::on_both_loops;
use stage02_timed_events::scenarios::{self, SLEEPERS, STEP, STEPS};
use stage02_timed_events::schedule::{Heap, SortedList};
use stage02_timed_events::schedule_loop;
use stage02_timed_events::seconds::{Delay, to_duration};
use stage02_timed_events::{
    AbstractEventLoop, Event, EventLoop, LoopError, RunCoroutines, TimerHandle, get_running_loop,
    sleep,
};

type Task =
    AsyncCoroutine<std::pin::Pin<Box<dyn std::future::Future<Output = String>>>, SleepUntil>;

/// A coroutine that logs `name` and the time at each step, sleeping between.
fn stepper(name: &'static str, delays: &'static [u64], out: &Transcript) -> Task {
    let out = out.clone();
    AsyncCoroutine::new(move |co: Yielder<SleepUntil>| {
        Box::pin(async move {
            for &ms in delays {
                out.at(co.now(), name);
                sleep(&co, Duration::from_millis(ms)).await;
            }
            out.at(co.now(), &format!("{name} done"));
            name.to_string()
        }) as std::pin::Pin<Box<dyn std::future::Future<Output = String>>>
    })
}

#[test]
fn scenario_4_finishes_at_half_a_second_on_every_loop() {
    let clock = VirtualClock::new();
    let out = Transcript::new();
    let timeline = Timeline::new();
    scenarios::timed_events(clock.clone(), &out, &timeline).unwrap();
    assert_eq!(clock.now(), STEP * STEPS);
    let lines = out.lines();
    // Title, one line per step of every sleeper, the summary.
    assert_eq!(lines.len(), 1 + SLEEPERS * STEPS as usize + 1);
    assert_eq!(lines[1], "  0.100  sleepy 1 step 1");
    assert_eq!(lines[25], "  0.500  sleepy 5 step 5");
    // Every resume is a start or an event: 5 x (1 + 5 steps x 2 events).
    assert_eq!(
        lines[26],
        "  callback loop: all done at 0.500 s, 55 resumes in 11 iterations"
    );

    let naive = Transcript::new();
    scenarios::timed_events_naive(VirtualClock::new, &naive);
    assert_eq!(
        naive.lines(),
        [
            "  naive loop on a sorted list: all done at 0.500 s, 55 resumes",
            "  naive loop on a heap: all done at 0.500 s, 55 resumes",
        ]
    );
}

#[test]
fn the_naive_loops_and_the_callback_loop_run_the_same_program_alike() {
    let delays: &'static [u64] = &[300, 100, 200];
    let make = |out: &Transcript| {
        vec![
            stepper("a", delays, out),
            stepper("b", &[100, 100], out),
            stepper("c", &[0, 0, 250], out),
        ]
    };

    let by_list = Transcript::new();
    let (list_done, list_resumes) =
        schedule_loop::run::<_, SortedList<_>>(&VirtualClock::new(), make(&by_list));
    let by_heap = Transcript::new();
    let (heap_done, heap_resumes) =
        schedule_loop::run::<_, Heap<_>>(&VirtualClock::new(), make(&by_heap));
    let by_callbacks = Transcript::new();
    let event_loop = EventLoop::new(VirtualClock::new());
    let named = ["a", "b", "c"]
        .into_iter()
        .map(String::from)
        .zip(make(&by_callbacks))
        .collect();
    let results = event_loop.gather(named).unwrap();

    assert_eq!(by_list.lines(), by_heap.lines());
    assert_eq!(by_list.lines(), by_callbacks.lines());
    assert_eq!(list_resumes, heap_resumes);
    assert_eq!(
        list_resumes,
        3 + 3 + 2 + 3,
        "one start and one resume per sleep"
    );
    assert_eq!(list_done, heap_done);
    let completion: Vec<&str> = list_done.iter().map(|f| f.value.as_str()).collect();
    assert_eq!(completion, ["b", "c", "a"]);
    assert_eq!(results, ["a", "b", "c"], "gather keeps argument order");
    assert_eq!(event_loop.time(), 0.6);
}

#[test]
fn sleep_zero_yields_exactly_once() {
    let out = Transcript::new();
    let event_loop = EventLoop::new(VirtualClock::new());
    let named = vec![
        ("a".to_string(), stepper("a", &[0], &out)),
        ("b".to_string(), stepper("b", &[0], &out)),
    ];
    event_loop.gather(named).unwrap();
    assert_eq!(
        out.lines(),
        [
            "  0.000  a",
            "  0.000  b",
            "  0.000  a done",
            "  0.000  b done"
        ]
    );
    // Iteration 1 starts both; iteration 2 resumes both after their sleep(0).
    assert_eq!(event_loop.iterations(), 2);
}

#[test]
fn scenario_9_gathered_takes_3_s_and_one_after_another_15_s() {
    let out = Transcript::new();
    scenarios::concurrency_arithmetic(VirtualClock::new, &out).unwrap();
    let lines = out.lines();
    let ones = lines.iter().filter(|l| l.ends_with("One")).count();
    assert_eq!(ones, 5);
    assert!(lines[1..6].iter().all(|l| l == "  0.000  One"));
    assert!(lines[6..11].iter().all(|l| l == "  1.000  Two"));
    assert!(lines[11..16].iter().all(|l| l == "  3.000  Three"));
    assert_eq!(lines[16], "  gathered: done at 3.000 s");
    assert_eq!(lines[17], "  one after another: 15 lines, done at 15.000 s");
}

#[test]
fn a_panicking_coroutine_fails_gather_with_its_name() {
    let event_loop = EventLoop::new(VirtualClock::new());
    let boom = AsyncCoroutine::new(|co: Yielder<SleepUntil>| async move {
        sleep(&co, Duration::from_secs(1)).await;
        panic!("the coroutine broke");
    });
    let error = event_loop.run_until_complete("fragile", boom).unwrap_err();
    match error {
        LoopError::TaskPanicked { task, message } => {
            assert_eq!(task, "fragile");
            assert_eq!(message, "the coroutine broke");
        }
        other => panic!("expected a panic report, got {other}"),
    }
    assert_eq!(event_loop.time(), 1.0);
}

#[test]
fn a_loop_stopped_early_reports_the_coroutine_unfinished() {
    let event_loop = EventLoop::new(VirtualClock::new());
    event_loop
        .call_later(1.0, |event_loop| event_loop.stop())
        .unwrap();
    let slow = stepper("slow", &[5_000], &Transcript::new());
    let error = event_loop.run_until_complete("slow", slow).unwrap_err();
    assert!(matches!(error, LoopError::StoppedBeforeComplete), "{error}");
    assert_eq!(event_loop.time(), 1.0);
}

#[test]
fn gathering_nothing_returns_at_once() {
    let event_loop = EventLoop::new(VirtualClock::new());
    let nothing: Vec<(String, Task)> = Vec::new();
    assert_eq!(event_loop.gather(nothing).unwrap(), Vec::<String>::new());
    assert_eq!(event_loop.iterations(), 0);
}

/// A coroutine that sleeps `delay`, then logs the time.
fn sleeper(delay: impl Delay + 'static, out: &Transcript) -> Task {
    let out = out.clone();
    AsyncCoroutine::new(move |co: Yielder<SleepUntil>| {
        Box::pin(async move {
            sleep(&co, delay).await;
            out.at(co.now(), "awake");
            "awake".to_string()
        }) as std::pin::Pin<Box<dyn std::future::Future<Output = String>>>
    })
}

#[test]
fn a_sleep_past_what_the_clock_counts_waits_until_the_loop_is_closed() {
    fn test<L: AbstractEventLoop>(event_loop: L, _: VirtualClock) {
        let out = Transcript::new();
        let forever = [
            sleeper(Duration::MAX, &out),
            sleeper(f64::INFINITY, &out),
            sleeper(1e300, &out),
        ];
        let mut tasks: Vec<(String, Task)> = forever
            .into_iter()
            .enumerate()
            .map(|(n, task)| (format!("forever {n}"), task))
            .collect();
        tasks.push(("one second".to_string(), sleeper(1.0, &out)));
        // Nothing but sleepers that never wake is left: the loop says it
        // would wait for ever, and drops nobody meanwhile.
        let error = event_loop.gather(tasks).unwrap_err();
        assert!(matches!(error, LoopError::NothingToWaitFor), "{error}");
        assert_eq!(out.lines(), ["  1.000  awake"]);
        assert_eq!(event_loop.time(), 1.0);
        assert_eq!(event_loop.scheduled_count(), 3, "the three still wait");
        event_loop.close().unwrap();
        assert_eq!(event_loop.scheduled_count(), 0);
    }
    on_both_loops(test, test);
}

#[test]
#[should_panic(expected = "sleep(NaN)")]
fn a_sleep_of_nan_seconds_is_refused() {
    let mut task = sleeper(f64::NAN, &Transcript::new());
    task.resume(Duration::ZERO);
}

#[test]
fn a_negative_sleep_is_a_sleep_of_zero() {
    let event_loop = EventLoop::new(VirtualClock::new());
    let out = Transcript::new();
    let tasks = vec![("negative".to_string(), sleeper(-5.0, &out))];
    event_loop.gather(tasks).unwrap();
    assert_eq!(out.lines(), ["  0.000  awake"]);
    assert_eq!(event_loop.iterations(), 2, "it yielded exactly once");
}

#[test]
fn a_wait_is_undone_by_cancelling_the_handle_its_event_returned() {
    fn test<L: AbstractEventLoop>(event_loop: L, _: VirtualClock) {
        let resumed = Rc::new(Cell::new(0));
        let kept = Rc::new(());
        let waits: Vec<_> = [SleepUntil(2_000_000_000), SleepUntil(0)]
            .into_iter()
            .map(|event| {
                let (resumed, kept) = (resumed.clone(), kept.clone());
                event.schedule(&event_loop, move |_| {
                    resumed.set(resumed.get() + 1);
                    drop(kept);
                })
            })
            .collect();
        assert_eq!(Rc::strong_count(&kept), 3);
        for wait in &waits {
            wait.cancel();
        }
        assert_eq!(Rc::strong_count(&kept), 1, "both resumes were dropped");
        event_loop.call_later(3.0, L::stop).unwrap();
        event_loop.run_forever().unwrap();
        assert_eq!(resumed.get(), 0);
    }
    on_both_loops(test, test);
}

#[test]
fn a_coroutine_reaches_its_running_loop() {
    let event_loop = EventLoop::new(VirtualClock::new());
    let out = Transcript::new();
    let log = out.clone();
    let coroutine = AsyncCoroutine::new(move |co: Yielder<SleepUntil>| async move {
        let running = get_running_loop::<EventLoop>().expect("it runs on a loop");
        let log = log.clone();
        running
            .call_later(0.5, move |event_loop| {
                log.at(
                    to_duration(event_loop.now()),
                    "a timer set from a coroutine",
                )
            })
            .unwrap();
        sleep(&co, 1.0).await;
        running.iterations()
    });
    let iterations = event_loop.run_until_complete("reacher", coroutine).unwrap();
    assert_eq!(out.lines(), ["  0.500  a timer set from a coroutine"]);
    assert_eq!(iterations, 3, "start, the timer, the sleep's end");
}
