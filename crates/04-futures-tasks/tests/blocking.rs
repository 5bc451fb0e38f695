//! Scenario 11: a blocking call in a task freezes the loop, and debug mode
//! reports the step (on the virtual clock, exact); the same call in the
//! pool does not (real threads: orders and counts, never times).

use std::path::Path;

use demo_support::Transcript;
use demo_support::transcript::assert_matches_file;
use stage01_generator_loop::VirtualClock;
use stage04_futures_tasks::scenarios::{blocking_in_a_task, blocking_in_the_pool};

#[test]
fn a_blocking_call_in_a_task_stops_the_ticks_and_is_reported() {
    let out = Transcript::new();
    blocking_in_a_task(VirtualClock::new(), &out).unwrap();
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/output/blocking-virtual.txt");
    assert_matches_file(&committed, &(out.lines().join("\n") + "\n"));
}

#[test]
fn the_same_call_in_the_pool_lets_the_ticker_tick() {
    let out = Transcript::new();
    blocking_in_the_pool(&out).unwrap();
    assert_eq!(
        out.lines(),
        [
            "main:    handed the blocking function to the pool",
            "ticker:  tick 1",
            "ticker:  tick 2",
            "ticker:  tick 3",
            "main:    the function returned: it saw 3 ticks while it blocked",
        ]
    );
}
