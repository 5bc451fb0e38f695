//! Scenario 8's pieces that need no loop: the Leibniz series, the
//! inspector's controller, and the rule that stops the run. Used by
//! `examples/pi_inspector.rs` (`cargo run --example pi_inspector`) and
//! tested, as plain functions, by `tests/examples.rs`.

/// How many times a second the calculator should yield to the loop: ten
/// chances a second for every other task (the inspector among them) to run.
pub(crate) const TARGET_YIELDS: u64 = 10;

/// The most terms one chunk may have. A chunk runs without a pause, and
/// while it runs the inspector cannot; a billion terms is already one second
/// (optimised) to twenty (debug build) of blindness.
pub(crate) const MAX_TICKS: u64 = 1_000_000_000;

/// How many inspections in a row must see the same digits before the run
/// stops: with one inspection a second, digits unchanged for seven seconds.
pub(crate) const STABLE_INSPECTIONS: u32 = 8;

// ANCHOR: leibniz
/// The Leibniz series, pi = 4 (1 - 1/3 + 1/5 - 1/7 + ...), summed a chunk of
/// terms at a time. It converges slowly: after n terms the estimate is off
/// by about 1/n, so every further digit costs ten times as many terms.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Leibniz {
    terms: u64,
    sum: f64,
}

impl Leibniz {
    /// Add the next `count` terms.
    pub(crate) fn add_terms(&mut self, count: u64) {
        for _ in 0..count {
            let term = 1.0 / (2 * self.terms + 1) as f64;
            if self.terms % 2 == 0 {
                self.sum += term;
            } else {
                self.sum -= term;
            }
            self.terms += 1;
        }
    }

    /// How many terms have been added.
    pub(crate) fn terms(&self) -> u64 {
        self.terms
    }

    /// The denominator of the last term added (1, 3, 5, ...; 0 before the
    /// first): how far along the series the sum has got.
    pub(crate) fn denominator(&self) -> u64 {
        (2 * self.terms).saturating_sub(1)
    }

    /// The estimate of pi so far.
    pub(crate) fn estimate(&self) -> f64 {
        4.0 * self.sum
    }
}
// ANCHOR_END: leibniz

// ANCHOR: controller
/// The inspector's controller: how many terms the next chunks should have,
/// given the current `ticks` and how many times a second the calculator
/// yielded with them.
///
/// `ticks * yields_per_second` is how many terms a second the machine
/// manages; divided by the target, it is the chunk that takes exactly a
/// tenth of a second. When the yields meet the target, that is `ticks`
/// itself: the equal case holds still. (The Sniffen Packets post halved `ticks` when the
/// yields were at or below the target and grew it by 10% above, so "equal"
/// counted as "too few", its equality branch could never run, and `ticks`
/// swung to and fro for ever.) At least one term per chunk, so the
/// calculator always makes progress; at most [`MAX_TICKS`].
pub(crate) fn next_ticks(ticks: u64, yields_per_second: u64) -> u64 {
    let terms_per_second = u128::from(ticks) * u128::from(yields_per_second);
    let next = terms_per_second / u128::from(TARGET_YIELDS);
    u64::try_from(next).unwrap_or(MAX_TICKS).clamp(1, MAX_TICKS)
}
// ANCHOR_END: controller

// ANCHOR: stop_rule
/// The stop rule: the first `digits` digits of the estimate have been the
/// same at [`STABLE_INSPECTIONS`] inspections in a row.
///
/// Stable is evidence, not proof. The series creeps towards pi, so a digit
/// that is still wrong can sit still for a while when a second adds little
/// precision; that is why the program checks the result against the real pi
/// at the end, and why it allows no more digits than it can reach quickly.
#[derive(Debug)]
pub(crate) struct StableDigits {
    digits: usize,
    last: String,
    times_in_a_row: u32,
}

impl StableDigits {
    /// A rule for the first `digits` digits, which has seen nothing yet.
    pub(crate) fn new(digits: usize) -> Self {
        Self {
            digits,
            last: String::new(),
            times_in_a_row: 0,
        }
    }

    /// Look at the estimate one inspection saw: true once its digits have
    /// been the same often enough in a row.
    pub(crate) fn observe(&mut self, estimate: f64) -> bool {
        let digits = leading_digits(estimate, self.digits);
        if digits == self.last {
            self.times_in_a_row += 1;
        } else {
            self.last = digits;
            self.times_in_a_row = 1;
        }
        self.times_in_a_row >= STABLE_INSPECTIONS
    }
}

/// The first `digits` digits of `value`, cut off rather than rounded, as
/// people write pi: `leading_digits(3.14159265, 7)` is `"3.141592"`. Meant
/// for values from 1 to 10, where every digit is significant.
pub(crate) fn leading_digits(value: f64, digits: usize) -> String {
    // Written to twenty decimals, so that the rounding `format!` does
    // happens far beyond the digits we keep.
    let written = format!("{value:.20}");
    let mut seen = 0;
    let kept: String = written
        .chars()
        .take_while(|c| {
            if c.is_ascii_digit() {
                seen += 1;
            }
            seen <= digits
        })
        .collect();
    kept.trim_end_matches('.').to_string()
}
// ANCHOR_END: stop_rule
