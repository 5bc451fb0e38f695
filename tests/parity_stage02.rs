//! Stage 2 against CPython: the callback loop's ordering rules, and scenarios
//! 4 and 9, on our `EventLoop` and on the real asyncio loop, both on a
//! virtual clock (tests/parity/stage02_timed_events.py), section by section,
//! line by line.
//!
//! One section shows a difference on purpose: timers due at the very same
//! time run first-in, first-out here, in whatever order `heapq` gives there.

mod common;

use demo_support::{Timeline, Transcript};
use stage02_timed_events::{AbstractEventLoop, RunCoroutines};
use std::sync::OnceLock;
use std::time::Duration;

use stage01_generator_loop::{AsyncCoroutine, Coroutine, VirtualClock, Yielder};
use stage02_timed_events::fast::{FastEventLoop, on_both_loops};
use stage02_timed_events::scenarios::{concurrency_arithmetic, timed_events};
use stage02_timed_events::seconds::to_duration;
use stage02_timed_events::{EventLoop, SleepUntil, sleep, spawn};

/// Every section the Python script prints, each compared by one test below.
const SECTIONS: [&str; 10] = [
    "call_soon_fifo",
    "call_later_order",
    "equal_delays_fifo",
    "sleep0_interleaves",
    "negative_delay",
    "call_later0_after_soon",
    "sleep0_vs_call_soon",
    "scenario_4",
    "scenario_9",
    "same_when_heap_order",
];

/// A section of a trace: its name, and its lines.
type Section = (String, Vec<String>);

/// The Python script's output, split into sections; run once for all tests.
fn python_sections() -> Option<&'static [Section]> {
    static TRACE: OnceLock<Option<Vec<Section>>> = OnceLock::new();
    TRACE
        .get_or_init(|| {
            common::python_trace("stage02_timed_events.py").map(|trace| common::sections(&trace))
        })
        .as_deref()
}

/// The lines of one section of the Python trace, or `None` (after saying
/// so) when there is no python3 to run it.
fn python_section(name: &str) -> Option<Vec<String>> {
    let Some(sections) = python_sections() else {
        eprintln!("skipped: python3 not found, so section {name} was not compared");
        return None;
    };
    let (_, lines) = sections
        .iter()
        .find(|(section, _)| section == name)
        .unwrap_or_else(|| panic!("the Python script prints no section {name}"));
    Some(lines.clone())
}

fn assert_section_matches(name: &str, rust: &Transcript) {
    if let Some(python) = python_section(name) {
        common::assert_same_lines(&python.join("\n"), &rust.lines());
    }
}

/// Run `case` on a fresh loop on a virtual clock, with a transcript for
/// what it prints, once with each schedule (the textbook loop and the fast
/// one), and compare each run with section `name` of the Python trace.
fn on_each_loop(
    name: &str,
    textbook: fn(&EventLoop, &Transcript),
    fast: fn(&FastEventLoop, &Transcript),
) {
    let (textbook_out, fast_out) = (Transcript::new(), Transcript::new());
    on_both_loops(
        |event_loop, _| textbook(&event_loop, &textbook_out),
        |event_loop, _| fast(&event_loop, &fast_out),
    );
    assert_section_matches(name, &textbook_out);
    assert_section_matches(name, &fast_out);
}

/// The Python script's `stamp`: the loop's time, to the millisecond.
fn stamp(event_loop: &impl AbstractEventLoop, out: &Transcript, text: &str) {
    out.at(to_duration(event_loop.now()), text);
}

/// The Python script's `stamp_iteration`: which iteration is running, too.
fn stamp_iteration(event_loop: &impl AbstractEventLoop, out: &Transcript, text: &str) {
    let iteration = event_loop.iterations();
    stamp(event_loop, out, &format!("iteration {iteration}: {text}"));
}

/// A callback that stamps `text` (with the iteration, if `iteration`).
fn stamper<L: AbstractEventLoop>(
    out: &Transcript,
    text: &str,
    iteration: bool,
) -> impl FnOnce(&L) + 'static {
    let (out, text) = (out.clone(), text.to_string());
    move |event_loop| {
        if iteration {
            stamp_iteration(event_loop, &out, &text);
        } else {
            stamp(event_loop, &out, &text);
        }
    }
}

#[test]
fn python_prints_exactly_the_sections_compared_here() {
    let Some(sections) = python_sections() else {
        eprintln!("skipped: python3 not found");
        return;
    };
    let names: Vec<&str> = sections.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, SECTIONS);
}

/// Callbacks run in the order queued; one queued by a running callback
/// waits for the next iteration.
#[test]
fn call_soon_is_fifo_and_new_callbacks_wait_for_the_next_iteration() {
    fn case<L: AbstractEventLoop>(event_loop: &L, out: &Transcript) {
        for (name, then) in [("a", Some("d")), ("b", None), ("c", Some("e"))] {
            let out = out.clone();
            event_loop
                .call_soon(move |event_loop| {
                    stamp_iteration(event_loop, &out, name);
                    if let Some(then) = then {
                        event_loop
                            .call_soon(stamper(&out, &format!("{then}, queued by {name}"), true))
                            .unwrap();
                    }
                })
                .unwrap();
        }
        event_loop
            .call_soon(|event_loop| {
                event_loop.call_soon(L::stop).unwrap();
            })
            .unwrap();
        event_loop.run_forever().unwrap();
    }
    on_each_loop("call_soon_fifo", case, case);
}

/// Timers scheduled in a scrambled order run in the order of their times.
#[test]
fn call_later_runs_timers_by_time() {
    fn case<L: AbstractEventLoop>(event_loop: &L, out: &Transcript) {
        for delay in [0.3, 0.1, 0.5, 0.2, 0.4] {
            let text = format!("call_later({delay})");
            event_loop
                .call_later(delay, stamper(out, &text, false))
                .unwrap();
        }
        event_loop.call_later(0.6, L::stop).unwrap();
        event_loop.run_forever().unwrap();
    }
    on_each_loop("call_later_order", case, case);
}

/// Timers set one after another with the same delay run in that order.
#[test]
fn equal_delays_run_fifo() {
    fn case<L: AbstractEventLoop>(event_loop: &L, out: &Transcript) {
        for n in 1..=6 {
            let text = format!("timer {n}");
            event_loop
                .call_later(0.2, stamper(out, &text, false))
                .unwrap();
        }
        event_loop.call_later(0.3, L::stop).unwrap();
        event_loop.run_forever().unwrap();
    }
    on_each_loop("equal_delays_fifo", case, case);
}

fn ping<L: AbstractEventLoop>(
    event_loop: &L,
    out: &Transcript,
    name: &'static str,
) -> impl Coroutine<Yield = SleepUntil, Output = ()> + 'static {
    let (event_loop, out) = (event_loop.clone(), out.clone());
    AsyncCoroutine::new(move |co: Yielder<SleepUntil>| async move {
        for step in 1..=3 {
            stamp_iteration(&event_loop, &out, &format!("{name}{step}"));
            sleep(&co, Duration::ZERO).await;
        }
    })
}

/// `sleep(0)` gives the other coroutine exactly one turn: a1 b1 a2 b2 a3 b3,
/// one iteration per step.
#[test]
fn sleep_zero_yields_exactly_once() {
    fn case<L: AbstractEventLoop>(event_loop: &L, out: &Transcript) {
        let pings = ["a", "b"].map(|name| (name.to_string(), ping(event_loop, out, name)));
        event_loop.gather(pings.into()).unwrap();
    }
    on_each_loop("sleep0_interleaves", case, case);
}

/// A negative delay is due at once: it runs in the next iteration, before a
/// zero-delay timer set just before it, whose time is later.
#[test]
fn a_negative_delay_runs_next_iteration_before_a_zero_delay() {
    fn case<L: AbstractEventLoop>(event_loop: &L, out: &Transcript) {
        let start = out.clone();
        event_loop
            .call_soon(move |event_loop| {
                let out = start;
                stamp_iteration(
                    event_loop,
                    &out,
                    "call_later(0, zero), then call_later(-1, negative)",
                );
                event_loop
                    .call_later(0.0, stamper(&out, "zero", true))
                    .unwrap();
                event_loop
                    .call_later(-1.0, stamper(&out, "negative", true))
                    .unwrap();
                event_loop.call_later(0.1, L::stop).unwrap();
            })
            .unwrap();
        event_loop.run_forever().unwrap();
    }
    on_each_loop("negative_delay", case, case);
}

/// `call_later(0)` joins the ready queue behind every `call_soon` queued in
/// the same iteration, even one queued after it.
#[test]
fn call_later_zero_runs_after_call_soon() {
    fn case<L: AbstractEventLoop>(event_loop: &L, out: &Transcript) {
        let start = out.clone();
        event_loop
            .call_soon(move |event_loop| {
                let out = start;
                stamp_iteration(
                    event_loop,
                    &out,
                    "call_soon(s1), call_later(0, later), call_soon(s2)",
                );
                event_loop.call_soon(stamper(&out, "s1", true)).unwrap();
                event_loop
                    .call_later(0.0, stamper(&out, "later", true))
                    .unwrap();
                event_loop.call_soon(stamper(&out, "s2", true)).unwrap();
                event_loop.call_later(0.1, L::stop).unwrap();
            })
            .unwrap();
        event_loop.run_forever().unwrap();
    }
    on_each_loop("call_later0_after_soon", case, case);
}

/// A task that sleeps 0, and a callback in the same iteration that queues
/// another: which runs first in the next iteration?
#[test]
fn sleep_zero_resumes_like_call_soon() {
    fn case<L: AbstractEventLoop>(event_loop: &L, out: &Transcript) {
        let task = {
            let (event_loop, out) = (event_loop.clone(), out.clone());
            AsyncCoroutine::new(move |co: Yielder<SleepUntil>| async move {
                stamp_iteration(&event_loop, &out, "task: sleep(0)");
                sleep(&co, Duration::ZERO).await;
                stamp_iteration(&event_loop, &out, "task: resumed");
            })
        };
        spawn(event_loop, "task", task, |event_loop, result| {
            result.unwrap();
            event_loop.stop();
        })
        .unwrap();
        let callback = out.clone();
        event_loop
            .call_soon(move |event_loop| {
                let out = callback;
                stamp_iteration(event_loop, &out, "callback: call_soon(x)");
                event_loop.call_soon(stamper(&out, "x", true)).unwrap();
            })
            .unwrap();
        event_loop.run_forever().unwrap();
    }
    on_each_loop("sleep0_vs_call_soon", case, case);
}

/// Scenario 4 as the demo runs it: five sleepers, all done at 0.5 s.
#[test]
fn scenario_4_matches_asyncio() {
    let out = Transcript::new();
    timed_events(VirtualClock::new(), &out, &Timeline::new()).unwrap();
    // The summary counts our loop's resumes and iterations: asyncio takes
    // more iterations (a sleep wakes its task through a future), so Python
    // prints no such line.
    let mut lines = out.lines();
    let before = lines.len();
    lines.retain(|line| !line.starts_with("  callback loop:"));
    assert_eq!(lines.len(), before - 1, "one summary line, dropped");
    if let Some(python) = python_section("scenario_4") {
        common::assert_same_lines(&python.join("\n"), &lines);
    }
}

/// Scenario 9 as the demo runs it: gathered in 3 s, one by one in 15 s.
#[test]
fn scenario_9_matches_asyncio() {
    let out = Transcript::new();
    concurrency_arithmetic(VirtualClock::new, &out).unwrap();
    assert_section_matches("scenario_9", &out);
}

/// The difference on purpose: eight timers with one and the same `when`.
/// Ours run first-in, first-out (the schedule keys on `(when, seq)`);
/// CPython's `heapq` compares `TimerHandle`s by `when` alone and does not.
#[test]
fn same_when_is_fifo_here_but_not_in_cpythons_heap() {
    let fifo: Vec<String> = (1..=8).map(|n| format!("  1.000  timer {n}")).collect();
    fn case<L: AbstractEventLoop>(event_loop: L, _: VirtualClock) {
        let fifo: Vec<String> = (1..=8).map(|n| format!("  1.000  timer {n}")).collect();
        let out = Transcript::new();
        for n in 1..=8 {
            let text = format!("timer {n}");
            event_loop
                .call_at(1.0, stamper(&out, &text, false))
                .unwrap();
        }
        event_loop.call_at(2.0, L::stop).unwrap();
        event_loop.run_forever().unwrap();
        assert_eq!(out.lines(), fifo, "ours must keep ties first-in, first-out");
    }
    on_both_loops(case, case);
    let Some(python) = python_section("same_when_heap_order") else {
        return;
    };
    assert_ne!(
        python, fifo,
        "CPython's heap kept ties in order: the difference this test documents is gone"
    );
    let mut sorted = python.clone();
    sorted.sort();
    assert_eq!(sorted, fifo, "the same eight timers, all at 1.000 s");
}
