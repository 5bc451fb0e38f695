//! Scenario 9, the simultaneous chess exhibition, on stage 2's loop and its
//! virtual clock: `cargo run --example chess_exhibition`.
//!
//! A chess master plays 24 opponents. Played one board at a time, the
//! exhibition takes 12 hours; moving from board to board while each opponent
//! thinks, about one. Both are simulated, not computed by formula: twelve
//! simulated hours take a few milliseconds of real time.
//!
//! Standard output is the same on every run. How long the simulations took
//! in real time differs from run to run, so it goes to standard error.

mod chess;

use std::process::ExitCode;
use std::time::{Duration, Instant};

use chess::{Exhibition, Outcome, SOURCE, board_to_board, hms, one_board_at_a_time};
use stage02_timed_events::LoopError;

fn main() -> ExitCode {
    match run(SOURCE) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("the loop stopped: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run(exhibition: Exhibition) -> Result<(), LoopError> {
    println!("Scenario 9: a simultaneous chess exhibition, on the virtual clock");
    println!(
        "{} boards, {} move pairs a game; the master takes {} s a move, each opponent {} s",
        exhibition.boards,
        exhibition.move_pairs,
        exhibition.master_move.as_secs(),
        exhibition.opponent_move.as_secs(),
    );

    println!("\nOne board at a time:");
    let (one_at_a_time, real) = timed(|| one_board_at_a_time(exhibition))?;
    report(&one_at_a_time, real);

    println!("\nBoard to board:");
    let (simultaneous, real) = timed(|| board_to_board(exhibition))?;
    report(&simultaneous, real);

    println!(
        "\nMoving from board to board is {:.1} times as fast.",
        one_at_a_time.total().as_secs_f64() / simultaneous.total().as_secs_f64()
    );
    Ok(())
}

/// Run one simulation, and measure how long it took in real time.
fn timed(
    simulate: impl FnOnce() -> Result<Outcome, LoopError>,
) -> Result<(Outcome, Duration), LoopError> {
    let start = Instant::now();
    let outcome = simulate()?;
    Ok((outcome, start.elapsed()))
}

/// Print what a simulation measured, and (to standard error, as it differs
/// from run to run) how long it took in real time.
fn report(outcome: &Outcome, real: Duration) {
    let first = outcome.finished.first().copied().unwrap_or_default();
    let last = outcome.finished.last().copied().unwrap_or_default();
    println!("  board 1 is over after {}", hms(first));
    println!(
        "  board {} is over after {}",
        outcome.finished.len(),
        hms(last)
    );
    println!("  the exhibition takes {}", hms(outcome.total()));
    // Where the time went: the master moving, the master waiting for a
    // reply, and whatever comes after her last move (its reply).
    let after_last_move = outcome.total() - outcome.master_moving - outcome.master_waiting;
    println!("    the master moves      {}", hms(outcome.master_moving));
    println!("    the master waits      {}", hms(outcome.master_waiting));
    println!("    the last reply takes  {}", hms(after_last_move));
    if outcome.master_waiting == Duration::ZERO {
        println!("  she never waits: a reply is ready by the time she is back");
    }
    let milliseconds = real.as_secs_f64() * 1000.0;
    eprintln!("  simulated in {milliseconds:.3} ms of real time");
}
