//! Where a time falls across a picture, and the time axis under it: a
//! [`Scale`] from times to columns or pixels, and an [`Axis`] of round,
//! labelled ticks. Both renderers use it; each says how much room its labels
//! take.

use super::Nanos;

const NANOS_PER_SECOND: i128 = 1_000_000_000;

// ANCHOR: scale
/// Maps a time to a position from 0 to `length` (a column, or a pixel).
/// Computed in `i128`, so that no span of `Nanos` can overflow it.
pub(super) struct Scale {
    start: i128,
    span: i128,
    length: i128,
}

impl Scale {
    fn new(start: i128, end: i128, length: i64) -> Self {
        Scale {
            start,
            span: end - start,
            length: length.max(0).into(),
        }
    }

    /// The position of `time`, rounded to the nearest whole one.
    pub(super) fn at(&self, time: impl Into<i128>) -> i64 {
        if self.span == 0 {
            return 0;
        }
        let offset = time.into() - self.start;
        let position = (2 * offset * self.length + self.span).div_euclid(2 * self.span);
        i64::try_from(position).expect("a position on the scale fits its length")
    }
}
// ANCHOR_END: scale

/// A labelled point on the time axis.
pub(super) struct Tick {
    pub(super) at: i128,
    pub(super) label: String,
}

// ANCHOR: axis
/// The time axis: the scale, and the labelled ticks along it.
pub(super) struct Axis {
    pub(super) scale: Scale,
    pub(super) ticks: Vec<Tick>,
}

impl Axis {
    /// An axis `length` units long from `start` to `end`, ticked at every
    /// multiple of the smallest round step (1, 2 or 5 times a power of ten
    /// nanoseconds) whose ticks `fits` accepts (each renderer knows how much
    /// room its labels take). The axis begins at the tick before `start`, so that its
    /// first label is at the left edge (a clock read a few microseconds after
    /// zero still starts at 0). With no such step, it spans the marks alone
    /// and has a single tick at its start, with its exact time.
    pub(super) fn new(
        start: Nanos,
        end: Nanos,
        length: i64,
        fits: impl Fn(&Scale, &[Tick]) -> bool,
    ) -> Axis {
        let (start, end) = (i128::from(start), i128::from(end));
        let round_steps = (0..=19).flat_map(|power| [1, 2, 5].map(|m| m * 10i128.pow(power)));
        for step in round_steps.filter(|_| end > start) {
            let origin = start.div_euclid(step) * step;
            let scale = Scale::new(origin, end, length);
            let count = (end - origin) / step + 1;
            // At least two ticks, so that moving the origin back costs less
            // than one step; at most one per unit, or they cannot fit (and a
            // tiny step would make millions).
            if count < 2 || count > scale.length + 1 {
                continue;
            }
            let decimals = decimals_of(step);
            let ticks: Vec<Tick> = (0..count)
                .map(|n| origin + n * step)
                .map(|at| Tick {
                    at,
                    label: seconds(at, decimals),
                })
                .collect();
            if fits(&scale, &ticks) {
                return Axis { scale, ticks };
            }
        }
        let tick = Tick {
            at: start,
            label: seconds(start, exact_decimals(start)),
        };
        Axis {
            scale: Scale::new(start, end, length),
            ticks: vec![tick],
        }
    }
}
// ANCHOR_END: axis

/// How many decimals a multiple of `step` nanoseconds needs, in seconds:
/// one for 0.1 s and 0.2 s, two for 0.05 s, none from 1 s up.
fn decimals_of(step: i128) -> u32 {
    let mut decimals = 9;
    let mut unit = 1;
    while decimals > 0 && step % (unit * 10) == 0 {
        decimals -= 1;
        unit *= 10;
    }
    decimals
}

/// The fewest decimals that write `time` exactly, in seconds.
fn exact_decimals(time: i128) -> u32 {
    let fraction = time.rem_euclid(NANOS_PER_SECOND);
    if fraction == 0 {
        0
    } else {
        decimals_of(fraction)
    }
}

/// `time` in seconds with `decimals` decimals, cut (not rounded) from the
/// integer: exact for any time that is a multiple of `10^(9 - decimals)` ns.
fn seconds(time: i128, decimals: u32) -> String {
    let sign = if time < 0 { "-" } else { "" };
    let (whole, fraction) = (time.abs() / NANOS_PER_SECOND, time.abs() % NANOS_PER_SECOND);
    if decimals == 0 {
        return format!("{sign}{whole}");
    }
    let kept = fraction / 10i128.pow(9 - decimals);
    let width = decimals as usize;
    format!("{sign}{whole}.{kept:0width$}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timeline::examples::{MS, SECOND};

    #[test]
    fn seconds_are_written_from_integers() {
        assert_eq!(seconds(0, 1), "0.0");
        assert_eq!(seconds(50 * MS as i128, 2), "0.05");
        assert_eq!(seconds(-1_500 * MS as i128, 1), "-1.5");
        assert_eq!(seconds(7 * SECOND as i128, 0), "7");
        assert_eq!(exact_decimals(250 * MS as i128), 2);
        assert_eq!(exact_decimals(1), 9);
        assert_eq!(decimals_of(5 * 10i128.pow(7)), 2);
        assert_eq!(decimals_of(10i128.pow(12)), 0);
    }
}
