//! Scenario 7 on the real clock: a real wait in `poll(2)` instead of the
//! virtual clock's jump, and the same steps in the same order. (Its
//! virtual run is the demo's, compared line by line in `tests/demo.rs`.)

use demo_support::{Timeline, Transcript};
use stage01_generator_loop::{RealClock, VirtualClock};
use stage04_futures_tasks::scenarios;

/// What scenario 7 says on `clock`, without the time and iteration stamps,
/// which the real clock makes its own.
fn steps(clock: impl stage01_generator_loop::Clock + 'static) -> Vec<String> {
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
