//! Scenarios 10 (the notifier) and 16 (threads race, tasks don't), on real
//! threads: the tests assert orders and counts, never times.

use demo_support::Transcript;
use stage01_generator_loop::VirtualClock;
use stage04_futures_tasks::scenarios::{
    INCREMENTS, WORKERS, lost_update, notifier, tasks_do_not_race, threads_race,
};

const NOTIFIER: [&str; 11] = [
    "handler: handed over 6 notifications, returned",
    "loop:    slow notification sent; everything waited for it",
    "loop:    plain 1 sent",
    "loop:    plain 2 sent",
    "loop:    plain 3 sent",
    "loop:    coroutine A, step 1",
    "loop:    coroutine B, step 1",
    "loop:    coroutine A, step 2",
    "loop:    coroutine B, step 2",
    "loop:    coroutine A, step 3",
    "loop:    coroutine B, step 3",
];

#[test]
fn the_notifier_returns_at_once_and_the_loop_works_through_its_queue_in_order() {
    for _ in 0..20 {
        let out = Transcript::new();
        notifier(&out).unwrap();
        assert_eq!(out.lines(), NOTIFIER);
    }
}

#[test]
fn two_threads_that_read_then_write_lose_an_update() {
    assert_eq!(lost_update(), 1, "two increments, one of them lost");
}

#[test]
fn racing_threads_never_count_more_than_was_added() {
    let count = threads_race(WORKERS, 100_000);
    assert!((1..=WORKERS as u64 * 100_000).contains(&count), "{count}");
}

#[test]
fn tasks_doing_the_same_increments_lose_none() {
    let count = tasks_do_not_race(VirtualClock::new(), WORKERS, INCREMENTS, 1_000).unwrap();
    assert_eq!(count, WORKERS as u64 * INCREMENTS);
}
