//! Times as asyncio writes them (float seconds), and as the loop keeps them
//! (whole nanoseconds).
//!
//! Mirrors the float arguments of `call_later(delay)`, `call_at(when)` and
//! `loop.time()` in CPython's `asyncio/base_events.py`. asyncio compares floats
//! and adds a clock resolution to paper over rounding (in `_run_once`,
//! `end_time = self.time() + self._clock_resolution`). We convert each float once, to
//! the nearest nanosecond, and then compute exactly: a timer due at 0.15 s
//! fires when the clock reads 0.15 s, not one rounding error later.

use std::fmt;
use std::time::Duration;

/// A point on the loop's clock, in nanoseconds since the clock started.
/// Signed, because `call_later(-1.0)` at time 0.5 is due at -0.5 s, and
/// asyncio orders it before a timer due at 0.
pub type Nanos = i64;

/// Why a float could not be a delay or a point in time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TimeError {
    /// NaN: not a time at all.
    NotANumber,
    /// Infinite: never, or always; either way no timer can be set for it.
    Infinite(f64),
    /// Finite, but past the roughly 292 years a loop's clock can count.
    OutOfRange(f64),
}

impl fmt::Display for TimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TimeError::NotANumber => write!(f, "a delay or time of NaN seconds means nothing"),
            TimeError::Infinite(s) => write!(f, "{s} seconds is not a time a timer can wait for"),
            TimeError::OutOfRange(s) => {
                write!(f, "{s} seconds is beyond what the loop's clock can count")
            }
        }
    }
}

impl std::error::Error for TimeError {}

/// Float seconds to the nearest nanosecond.
pub fn to_nanos(seconds: f64) -> Result<Nanos, TimeError> {
    if seconds.is_nan() {
        return Err(TimeError::NotANumber);
    }
    if seconds.is_infinite() {
        return Err(TimeError::Infinite(seconds));
    }
    let nanos = (seconds * 1e9).round();
    // i64::MAX as f64 rounds up to 2^63, which itself does not fit.
    if nanos >= i64::MAX as f64 || nanos < i64::MIN as f64 {
        return Err(TimeError::OutOfRange(seconds));
    }
    Ok(nanos as i64)
}

/// Nanoseconds to float seconds: one division, correctly rounded. For the
/// first 2^51 ns (about 26 days) of loop time, `to_nanos` turns the result
/// back into exactly the same count; later, into one within a nanosecond.
pub fn to_seconds(nanos: Nanos) -> f64 {
    nanos as f64 / 1e9
}

/// A clock reading (a `Duration` since the clock started) as [`Nanos`].
///
/// # Panics
/// After 292 years of loop time.
pub fn from_duration(duration: Duration) -> Nanos {
    Nanos::try_from(duration.as_nanos()).expect("the loop's clock ran past 292 years")
}

/// A loop time as a `Duration` since the clock started (the past before it
/// counts as its start).
pub fn to_duration(nanos: Nanos) -> Duration {
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(0))
}

/// How long to wait from `now` until `when`: zero if `when` has passed.
pub fn wait_until(now: Nanos, when: Nanos) -> Duration {
    to_duration(when.saturating_sub(now))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_become_the_nearest_nanosecond() {
        assert_eq!(to_nanos(0.1), Ok(100_000_000));
        // 0.1 + 0.05 is 0.15000000000000002 in binary floating point.
        assert_eq!(to_nanos(0.1 + 0.05), Ok(150_000_000));
        assert_eq!(to_nanos(-1.0), Ok(-1_000_000_000));
        assert_eq!(to_nanos(0.0), Ok(0));
    }

    #[test]
    fn nonsense_is_refused() {
        assert_eq!(to_nanos(f64::NAN), Err(TimeError::NotANumber));
        assert_eq!(
            to_nanos(f64::INFINITY),
            Err(TimeError::Infinite(f64::INFINITY))
        );
        assert_eq!(
            to_nanos(f64::NEG_INFINITY),
            Err(TimeError::Infinite(f64::NEG_INFINITY))
        );
        assert_eq!(to_nanos(1e10), Err(TimeError::OutOfRange(1e10)));
        assert_eq!(to_nanos(-1e10), Err(TimeError::OutOfRange(-1e10)));
    }

    #[test]
    fn loop_times_survive_the_round_trip_through_floats() {
        // Exact while two roundings cannot add up to half a nanosecond:
        // below 2^51 ns, about 26 days of loop time. Sampled over 26 days.
        for nanos in (0..(1i64 << 51)).step_by(999_999_937) {
            assert_eq!(to_nanos(to_seconds(nanos)), Ok(nanos));
        }
    }

    #[test]
    fn waiting_for_the_past_is_no_wait() {
        assert_eq!(wait_until(10, 4), Duration::ZERO);
        assert_eq!(wait_until(4, 10), Duration::from_nanos(6));
    }
}
