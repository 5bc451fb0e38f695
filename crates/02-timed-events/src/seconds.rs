//! Times as asyncio writes them (float seconds), and as the loop keeps them
//! (whole nanoseconds).
//!
//! Mirrors the float arguments of `call_later(delay)`, `call_at(when)` and
//! `loop.time()` in CPython's `asyncio/base_events.py`. asyncio compares floats
//! and adds a clock resolution to paper over rounding (in `_run_once`,
//! `end_time = self.time() + self._clock_resolution`). We convert each float
//! once, to the nearest nanosecond, and then compute exactly: a timer due at
//! 0.15 s fires when the clock reads 0.15 s, not one rounding error later.

use std::time::Duration;

/// A point on the loop's clock, in nanoseconds since the clock started.
/// Signed, because `call_later(-1.0)` at time 0.5 is due at -0.5 s, and
/// asyncio orders it before a timer due at 0.
pub type Nanos = i64;

// ANCHOR: never
/// The time no clock reaches: 292 years after it started. Any time later
/// than that (a float of `inf` or `1e300`, `Duration::MAX`) is `NEVER`, as
/// `asyncio.sleep(math.inf)` is: a timer due then waits until it is
/// cancelled or its loop is closed, and the loop never waits for it.
pub const NEVER: Nanos = Nanos::MAX;
// ANCHOR_END: never

/// Float seconds to the nearest nanosecond; `None` for NaN, which is no time
/// at all. Times past what [`Nanos`] holds saturate: the far future is
/// [`NEVER`], the far past is as good as any past.
pub fn to_nanos(seconds: f64) -> Option<Nanos> {
    // `as` saturates, and infinities with it.
    (!seconds.is_nan()).then(|| (seconds * 1e9).round() as Nanos)
}

/// Nanoseconds to float seconds: one division, correctly rounded. For the
/// first 2^51 ns (about 26 days) of loop time, `to_nanos` turns the result
/// back into exactly the same count; later, into one within a nanosecond.
/// [`NEVER`] is infinity.
pub fn to_seconds(nanos: Nanos) -> f64 {
    if nanos == NEVER {
        f64::INFINITY
    } else {
        nanos as f64 / 1e9
    }
}

/// A clock reading (a `Duration` since the clock started) as [`Nanos`].
///
/// # Panics
/// After 292 years of loop time, where [`NEVER`] begins.
pub fn from_duration(duration: Duration) -> Nanos {
    Nanos::try_from(duration.as_nanos())
        .ok()
        .filter(|&nanos| nanos < NEVER)
        .expect("the loop's clock ran past 292 years")
}

/// A loop time as a `Duration` since the clock started (the past before it
/// counts as its start).
pub fn to_duration(nanos: Nanos) -> Duration {
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(0))
}

/// How long to wait from `now` until `when`: zero if `when` has passed, and
/// `None` (for as long as it takes) if it is [`NEVER`].
pub fn wait_until(now: Nanos, when: Nanos) -> Option<Duration> {
    (when != NEVER).then(|| to_duration(when.saturating_sub(now)))
}

// ANCHOR: delay
/// A delay, as asyncio writes it (float seconds, which may be negative) or
/// as Rust does (a `Duration`).
pub trait Delay {
    /// The delay in nanoseconds, saturating ([`NEVER`] for `inf`, `1e300`
    /// or `Duration::MAX`); `None` for NaN.
    fn to_nanos(self) -> Option<Nanos>;
}

impl Delay for f64 {
    fn to_nanos(self) -> Option<Nanos> {
        to_nanos(self)
    }
}

impl Delay for Duration {
    fn to_nanos(self) -> Option<Nanos> {
        Some(Nanos::try_from(self.as_nanos()).unwrap_or(NEVER))
    }
}
// ANCHOR_END: delay
