//! What the stage 4 parity tests share: a fresh loop on a virtual clock per
//! case, as each Python section has, and the Python scripts' ways of
//! printing a line.

#![allow(dead_code, reason = "only the stage 4 parity tests use it")]

use demo_support::Transcript;
use stage01_generator_loop::VirtualClock;
use stage02_timed_events::AbstractEventLoop;
use stage03_read_readiness::{PollSelector, SelectorEventLoop, SelectorEvents};
use stage04_futures_tasks::run_until_complete;

/// A fresh loop on a virtual clock, as each Python section has, and a
/// transcript for what the case prints.
pub(crate) fn new_case() -> (SelectorEventLoop, Transcript) {
    let event_loop = SelectorEventLoop::with_selector(VirtualClock::new(), PollSelector::new());
    (event_loop.expect("a new loop"), Transcript::new())
}

/// The Python scripts' `stamp`: the loop's time, to the millisecond.
pub(crate) fn stamp(out: &Transcript, event_loop: &SelectorEventLoop, text: &str) {
    out.say(format!("{:7.3}  {text}", event_loop.time()));
}

/// The Python scripts' `stamp_iteration`: which iteration is running, too.
pub(crate) fn stamp_iteration(out: &Transcript, event_loop: &SelectorEventLoop, text: &str) {
    let iteration = event_loop.iterations();
    stamp(out, event_loop, &format!("iteration {iteration}: {text}"));
}

/// The last line of most sections: how many iterations the loop made.
pub(crate) fn say_iterations(out: &Transcript, event_loop: &SelectorEventLoop) {
    out.say(format!("iterations: {}", event_loop.iterations()));
}

/// Python's `repr` of a `bool`.
pub(crate) fn py_bool(value: bool) -> &'static str {
    if value { "True" } else { "False" }
}

/// Run a case's `main` to its end, say how many iterations the loop made
/// (the last line of most sections), and compare what `out` holds with
/// `section` of `script`, run by Python.
pub(crate) fn run_case(
    script: &'static str,
    section: &str,
    event_loop: &SelectorEventLoop,
    out: &Transcript,
    main: impl std::future::Future<Output = ()> + 'static,
) {
    run_until_complete(event_loop, main).expect("the case runs to its end");
    say_iterations(out, event_loop);
    super::compare_section(script, section, &out.lines());
}
