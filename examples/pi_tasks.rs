//! Scenario 8 again, on stage 4: the calculator and the inspector are two
//! tasks, `cargo run --example pi_tasks [-- --digits N]`, on the real clock.
//!
//! The program is `examples/pi_inspector.rs` with stage 4's pieces: each job
//! is its own `async fn` with its own result type (stage 2's `gather` took
//! coroutines of one type, so both jobs were one function with a role);
//! `create_task` starts them; `gather` of the pair waits for both and hands
//! back the calculator's series; `yield_now` is `await asyncio.sleep(0)`;
//! and neither job is handed its loop: the inspector asks for the running
//! one, as asyncio code calls `asyncio.get_running_loop()`.

#[path = "pi/cli.rs"]
mod cli;
mod pi;

use std::process::ExitCode;
use std::rc::Rc;
use std::time::Duration;

use demo_support::Transcript;
use stage01_generator_loop::RealClock;
use stage02_timed_events::{AbstractEventLoop, get_running_loop};
use stage03_read_readiness::SelectorEventLoop;
use stage04_futures_tasks::{create_task, gather, run, sleep, yield_now};

use cli::{FIRST_TICKS, Shared, summarise};
use pi::{Leibniz, STABLE_INSPECTIONS, StableDigits};

fn main() -> ExitCode {
    cli::main("pi_tasks", run_both)
}

// ANCHOR: calculate
/// Sum the series a chunk at a time, yielding to the loop after each chunk,
/// until the inspector says the digits are stable; the series is the task's
/// result.
async fn calculate(shared: Rc<Shared>) -> Leibniz {
    let mut series = Leibniz::default();
    while !shared.finished.get() {
        shared.add_chunk(&mut series);
        yield_now().await;
    }
    series
}
// ANCHOR_END: calculate

// ANCHOR: inspect
/// Once a second: report, adjust `ticks`, and decide whether to stop.
async fn inspect(shared: Rc<Shared>, digits: usize, out: Transcript) {
    let event_loop: SelectorEventLoop = get_running_loop().expect("a task runs in a loop");
    let now = || Duration::from_secs_f64(event_loop.time());
    let mut stop_rule = StableDigits::new(digits);
    let mut wake_at = now();
    loop {
        // Whole seconds from the start, as in stage 2's version: we wake up
        // to one chunk late, and that must not add up from line to line.
        wake_at += Duration::from_secs(1);
        sleep(wake_at.saturating_sub(now()), ()).await;
        wake_at += Duration::from_secs(now().saturating_sub(wake_at).as_secs());
        if shared.inspect(&mut stop_rule, &out, now()) {
            return;
        }
    }
}
// ANCHOR_END: inspect

fn run_both(digits: usize) -> ExitCode {
    let out = Transcript::echoing();
    out.say(format!(
        "Scenario 8, as two tasks: pi by the Leibniz series, until the first {digits} \
         of its digits hold still for {STABLE_INSPECTIONS} inspections in a row"
    ));
    let shared = Rc::new(Shared::default());
    shared.ticks.set(FIRST_TICKS);
    // ANCHOR: main
    let main = |event_loop: &SelectorEventLoop| {
        let event_loop = event_loop.clone();
        let (shared, out) = (Rc::clone(&shared), out.clone());
        async move {
            let start = |error| format!("a task could not start: {error}");
            let calculator =
                create_task(&event_loop, calculate(Rc::clone(&shared))).map_err(start)?;
            let inspector =
                create_task(&event_loop, inspect(shared, digits, out)).map_err(start)?;
            calculator.set_name("calculator");
            inspector.set_name("inspector");
            let (series, ()) = gather((calculator, inspector))
                .await
                .map_err(|error| format!("a task failed: {error}"))?;
            Ok((series, event_loop.time()))
        }
    };
    // ANCHOR_END: main
    match run(RealClock::new(), main).map_err(|error| error.to_string()) {
        Ok(Ok((series, seconds))) => {
            summarise(&out, &series, digits, seconds);
            ExitCode::SUCCESS
        }
        Ok(Err(message)) | Err(message) => {
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}
