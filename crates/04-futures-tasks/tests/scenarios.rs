//! Scenario 15 on the virtual clock: the response that ends after the
//! acknowledgement is whole, and ends as soon as the slowest worker is
//! done, whatever the workers' speeds; the one that ends after a sleep
//! loses chunks or time. What the demo prints of it is the committed copy
//! the book shows.
//!
//! Scenario 7 on the real clock: a real wait in `poll(2)` instead of the
//! virtual clock's jump, and the same steps in the same order. (Its
//! virtual run is the demo's, compared line by line in `tests/demo.rs`.)

use std::path::{Path, PathBuf};

use demo_support::transcript::assert_matches_file;
use demo_support::{Timeline, Transcript};
use stage01_generator_loop::{Clock, RealClock, VirtualClock};
use stage04_futures_tasks::scenarios::{self, End, NAP, Received, delays, serve};

const WHOLE: &str = "Start12345678910End";

/// Chunk n in n/10 s: all done in 1 s.
fn fast() -> Vec<f64> {
    delays(|n| f64::from(n) / 10.0)
}

/// Chunk n in n/5 s: all done in 2 s.
fn slow() -> Vec<f64> {
    delays(|n| f64::from(n) / 5.0)
}

/// Chunk 10 first, chunk 1 last, at 2 s.
fn reversed() -> Vec<f64> {
    delays(|n| f64::from(11 - n) / 5.0)
}

/// Delays of 0.01 s to 1 s, in hundredths, from a xorshift seeded with
/// `seed`: the same every run.
fn shuffled(seed: u64) -> Vec<f64> {
    let mut state = seed;
    delays(|_| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % 100 + 1) as f64 / 100.0
    })
}

fn served(delays: &[f64], end: End) -> Received {
    serve(VirtualClock::new(), delays, end).expect("the response is served")
}

fn committed(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/output")
        .join(name)
}

#[test]
fn the_acknowledged_response_is_whole_and_prompt_whatever_the_workers_speeds() {
    let mut speeds = vec![fast(), slow(), reversed(), vec![0.5; 10], vec![0.0; 10]];
    speeds.extend((1..=20).map(shuffled));
    for delays in speeds {
        let received = served(&delays, End::AfterAcknowledgement);
        assert_eq!(received.body, WHOLE, "delays {delays:?}");
        let slowest = delays.iter().copied().fold(0.0, f64::max);
        assert!(
            (received.ended_at - slowest).abs() < 1e-9,
            "delays {delays:?}: ended at {}, not when the slowest was done",
            received.ended_at
        );
    }
}

#[test]
fn the_shuffled_speeds_finish_out_of_order() {
    // Else the test above would not show that the numbers restore order.
    for seed in 1..=20 {
        let delays = shuffled(seed);
        assert!(
            delays.windows(2).any(|pair| pair[0] > pair[1]),
            "{delays:?}"
        );
    }
}

#[test]
fn a_sleep_too_short_for_the_workers_loses_their_chunks() {
    let slow_workers = served(&slow(), End::AfterSleeping(NAP));
    assert_eq!(slow_workers.body, "Start1234567End");
    assert_eq!(slow_workers.ended_at, NAP);
    // Chunk 1 comes last, and every other waits for it: the thread's
    // "StartEnd".
    assert_eq!(
        served(&reversed(), End::AfterSleeping(NAP)).body,
        "StartEnd"
    );
}

#[test]
fn a_sleep_long_enough_keeps_the_client_waiting_for_nothing() {
    let acknowledged = served(&fast(), End::AfterAcknowledgement);
    let slept = served(&fast(), End::AfterSleeping(NAP));
    assert_eq!(slept.body, WHOLE);
    assert_eq!((acknowledged.ended_at, slept.ended_at), (1.0, NAP));
}

#[test]
fn every_nap_is_wrong_for_the_fast_workers_or_for_the_slow_ones() {
    let prompt = served(&fast(), End::AfterAcknowledgement).ended_at;
    for nap in [0.25, 0.75, 1.25, 1.75, 2.25, 5.0] {
        let loses_chunks = served(&slow(), End::AfterSleeping(nap)).body != WHOLE;
        let wastes_time = served(&fast(), End::AfterSleeping(nap)).ended_at > prompt;
        assert!(loses_chunks || wastes_time, "a nap of {nap} s was right");
    }
}

#[test]
fn the_book_shows_what_the_demo_prints_of_scenario_15() {
    let out = Transcript::new();
    scenarios::chunked_response(VirtualClock::new, &out).expect("scenario 15 runs");
    let printed = out.lines().join("\n") + "\n";
    assert_matches_file(&committed("scenario-15.txt"), &printed);
    let demo = std::fs::read_to_string(committed("demo-virtual.txt")).unwrap();
    assert!(
        demo.contains(&printed),
        "the demo does not print scenario 15"
    );
}

/// What scenario 7 says on `clock`, without the time and iteration stamps,
/// which the real clock makes its own.
fn steps(clock: impl Clock + 'static) -> Vec<String> {
    let out = Transcript::new();
    scenarios::socket_chain(clock, &out, &Timeline::new()).expect("scenario 7 runs");
    out.lines()
        .iter()
        .map(|line| match line.split_once(": ") {
            Some((stamp, step)) if stamp.contains("iteration") => step.to_string(),
            _ => line.clone(),
        })
        .collect()
}

#[test]
fn scenario_7_on_the_real_clock_takes_the_same_steps_in_the_same_order() {
    let real = steps(RealClock::new());
    assert_eq!(real, steps(VirtualClock::new()));
    assert_eq!(real.len(), 1 + 7, "{real:#?}");
}
