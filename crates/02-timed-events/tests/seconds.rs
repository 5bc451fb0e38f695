//! Float seconds in, exact nanoseconds inside: the conversions every timer
//! goes through, at their edges.

use std::time::Duration;

use stage02_timed_events::seconds::{Delay, NEVER, Nanos, to_nanos, to_seconds, wait_until};

#[test]
fn floats_become_the_nearest_nanosecond() {
    assert_eq!(to_nanos(0.1), Some(100_000_000));
    // 0.1 + 0.05 is 0.15000000000000002 in binary floating point.
    assert_eq!(to_nanos(0.1 + 0.05), Some(150_000_000));
    assert_eq!(to_nanos(-1.0), Some(-1_000_000_000));
    assert_eq!(to_nanos(0.0), Some(0));
}

#[test]
fn nan_is_no_time_and_the_far_future_is_never() {
    assert_eq!(to_nanos(f64::NAN), None);
    assert_eq!(to_nanos(f64::INFINITY), Some(NEVER));
    assert_eq!(to_nanos(1e300), Some(NEVER));
    assert_eq!(to_nanos(1e10), Some(NEVER), "317 years is past the clock");
    assert_eq!(to_nanos(f64::NEG_INFINITY), Some(Nanos::MIN));
    assert_eq!(Duration::MAX.to_nanos(), Some(NEVER));
    assert_eq!(to_seconds(NEVER), f64::INFINITY);
    assert_eq!(wait_until(0, NEVER), None);
}

#[test]
fn loop_times_survive_the_round_trip_through_floats() {
    // Exact while two roundings cannot add up to half a nanosecond:
    // below 2^51 ns, about 26 days of loop time. Sampled over 26 days.
    for nanos in (0..(1i64 << 51)).step_by(999_999_937) {
        assert_eq!(to_nanos(to_seconds(nanos)), Some(nanos));
    }
}

#[test]
fn waiting_for_the_past_is_no_wait() {
    assert_eq!(wait_until(10, 4), Some(Duration::ZERO));
    assert_eq!(wait_until(4, 10), Some(Duration::from_nanos(6)));
}
