//! Scenario 8, a long computation that stays responsive, from the blog
//! post "Sniffen Packets: a demonstration of asyncio in Python 3.6": a
//! task approximates pi with the Leibniz series, 4 (1 - 1/3 + 1/5 - ...),
//! and yields to the loop every `ticks` terms; an inspector wakes once a
//! second, reports, and tunes `ticks` so that the computer yields about
//! ten times a second, and the reports come about once a second.
//!
//! The post left two things open, answered here: the inspector stops the
//! computer once the estimate's first digits are stable, that is, once the
//! rest of the series can no longer change them; and Ctrl-C ends it
//! cleanly. The first Ctrl-C cancels main
//! (the inspector) at its sleep; the runner then cancels the computer,
//! which is told at its yield, says where it stood, and passes the
//! cancellation on. No task is left with an error nobody looked at, so
//! nothing is reported as "never retrieved".

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use demo_support::Transcript;
use stage01_generator_loop::Clock;
use stage03_read_readiness::SelectorEventLoop;
use stage04_futures_tasks::FutureError;

use super::stamp;
use crate::runners::{RunnerError, run};
use crate::{Task, create_task, sleep, yield_now};

/// On the virtual clock, how long one term takes: 1 us, a slow machine's
/// CPython. (On the real clock, the work takes what it takes.)
pub const VIRTUAL_TERM_NANOS: u64 = 1000;

/// What the scenario is asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PiSettings {
    /// How many times a second the computer should yield (the source's
    /// `target`: 10).
    pub target: u32,
    /// How many terms it computes between yields, at first.
    pub ticks: u64,
    /// Stop once this many digits of the estimate (the 3 included) are
    /// stable; `None`: never, only Ctrl-C ends it.
    pub digits: Option<usize>,
}

impl PiSettings {
    /// For the real clock: a first batch of 2^22 terms (a few
    /// milliseconds), and ten digits (3.141592653), which take some
    /// 5 * 10^9 terms: 5 seconds, more in a debug build. Small batches,
    /// because a loop of stage 4's fast tasks looks at its descriptors,
    /// the signal's among them, only once in 61 iterations while tasks are
    /// ready: 61 batches bound how late it sees a Ctrl-C.
    pub const REAL: Self = Self {
        target: 10,
        ticks: 1 << 22,
        digits: Some(10),
    };

    /// For the virtual clock, at [`VIRTUAL_TERM_NANOS`] a term: a first
    /// batch of 2^18 terms (0.26 s), and seven digits (3.141592).
    pub const VIRTUAL: Self = Self {
        target: 10,
        ticks: 1 << 18,
        digits: Some(7),
    };
}

/// What the computer and the inspector share, as the source's globals:
/// one thread, so plain cells.
#[derive(Default)]
struct Progress {
    /// Terms to compute before the next yield.
    ticks: Cell<u64>,
    /// Yields since the inspector last looked (the source's `tocks`).
    yields: Cell<u32>,
    /// Terms summed so far: the next denominator is `2 * terms + 1`.
    terms: Cell<u64>,
    /// Their sum, a quarter of the estimate.
    sum: Cell<f64>,
}

// ANCHOR: controller
/// The source's controller: the computer yielded `yields` times since the
/// inspector last looked. At or below `target`, halve `ticks` (it yields
/// twice as often); above, grow it by a tenth. (The source's third branch,
/// for `yields == target`, comes after the `<=` one and never runs.)
pub fn next_ticks(ticks: u64, yields: u32, target: u32) -> u64 {
    if yields <= target {
        (ticks / 2).max(1)
    } else {
        ticks + ticks.div_ceil(10)
    }
}
// ANCHOR_END: controller

// ANCHOR: settled
/// The first `digits` digits of `estimate` (which is between 2 and 4), the
/// 3 included, cut, not rounded: `3.1415` for 5 digits.
pub fn leading_digits(estimate: f64, digits: usize) -> String {
    let shown = format!("{estimate:.17}");
    shown[..(digits + 1).min(shown.len())].to_string()
}

/// The first `digits` digits of pi, if the estimate made of the terms up
/// to `denominator` (excluded) has settled them: the terms alternate and
/// shrink, so the rest of the series moves the estimate by less than the
/// next term, `4 / denominator`; once both ends of that interval show the
/// same digits, no later term can change them. (The same digits for a few
/// reports in a row is not enough: the series creeps so slowly that a
/// wrong last digit can stay for many seconds.)
pub fn settled_digits(estimate: f64, denominator: u64, digits: usize) -> Option<String> {
    let bound = 4.0 / denominator as f64;
    let low = leading_digits(estimate - bound, digits);
    (low == leading_digits(estimate + bound, digits)).then_some(low)
}
// ANCHOR_END: settled

// ANCHOR: computer
/// The computer: `ticks` terms, then a yield, for ever. Cancelled, it is
/// told at its yield, says where it stood, and passes it on.
async fn compute(
    progress: Rc<Progress>,
    clock: impl Clock,
    event_loop: SelectorEventLoop,
    out: Transcript,
) -> Result<(), FutureError> {
    loop {
        let (ticks, first) = (progress.ticks.get(), progress.terms.get());
        let mut sum = progress.sum.get();
        let mut denominator = (2 * first + 1) as f64;
        let mut sign = if first % 2 == 0 { 1.0 } else { -1.0 };
        for _ in 0..ticks {
            sum += sign / denominator;
            denominator += 2.0;
            sign = -sign;
        }
        progress.sum.set(sum);
        progress.terms.set(first + ticks);
        if clock.is_virtual() {
            // The work's time, which only a real clock sees pass.
            clock.sleep(Duration::from_nanos(ticks * VIRTUAL_TERM_NANOS));
        }
        progress.yields.set(progress.yields.get() + 1);
        if let Err(cancelled) = yield_now().await {
            let terms = progress.terms.get();
            let text = format!("computer: cancelled at its yield, after {terms} terms");
            stamp(&out, &event_loop, &text);
            return Err(cancelled);
        }
    }
}
// ANCHOR_END: computer

// ANCHOR: inspector
/// The inspector: once a second, report and tune `ticks`; once the digits
/// asked for are settled, stop the computer, await it, and answer them.
async fn inspect(
    progress: Rc<Progress>,
    settings: PiSettings,
    computer: Task<()>,
    event_loop: SelectorEventLoop,
    out: Transcript,
) -> Result<String, FutureError> {
    // Said from main, so only once the runner handles Ctrl-C.
    stamp(
        &out,
        &event_loop,
        "inspector: reports once a second; Ctrl-C stops it cleanly",
    );
    let settled = loop {
        if let Err(cancelled) = sleep(1.0, ()).await {
            stamp(&out, &event_loop, "inspector: cancelled at its sleep");
            return Err(cancelled);
        }
        let (ticks, yields) = (progress.ticks.get(), progress.yields.replace(0));
        let (denominator, estimate) = (2 * progress.terms.get() + 1, 4.0 * progress.sum.get());
        let report = format!(
            "ticks {ticks:>10}  yields {yields:>3}  denominator {denominator:>11}  pi ~ {estimate:.10}"
        );
        stamp(&out, &event_loop, &report);
        progress
            .ticks
            .set(next_ticks(ticks, yields, settings.target));
        let settled = settings
            .digits
            .and_then(|digits| settled_digits(estimate, denominator, digits));
        if let Some(settled) = settled {
            break settled;
        }
    };
    let text = format!("inspector: {settled} is settled; stops the computer");
    stamp(&out, &event_loop, &text);
    computer.cancel(None);
    let stopped = computer.await; // its outcome, retrieved: nothing to report
    stamp(
        &out,
        &event_loop,
        &format!("inspector: the computer ended: {stopped:?}"),
    );
    Ok(settled)
}
// ANCHOR_END: inspector

// ANCHOR: approximate_pi
/// Scenario 8 on `clock`, run by [`run`]: the computer in a task, the
/// inspector as main. The digits it settled on; or, on Ctrl-C,
/// [`RunnerError::Interrupted`], once both tasks have cleaned up.
pub fn approximate_pi(
    clock: impl Clock + Clone + 'static,
    settings: PiSettings,
    out: &Transcript,
) -> Result<String, RunnerError> {
    let out = out.clone();
    run(clock.clone(), move |event_loop| {
        let progress = Rc::new(Progress::default());
        progress.ticks.set(settings.ticks);
        let work = compute(Rc::clone(&progress), clock, event_loop.clone(), out.clone());
        let started = create_task(event_loop, work);
        let event_loop = event_loop.clone();
        async move {
            let computer = started?;
            computer.set_name("computer");
            inspect(progress, settings, computer, event_loop, out).await
        }
    })
}
// ANCHOR_END: approximate_pi
