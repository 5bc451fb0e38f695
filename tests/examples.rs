//! The examples, checked: scenario 9's chess exhibition
//! (`cargo run --example chess_exhibition`), and scenario 8's pi inspector on
//! stage 2 (`cargo run --example pi_inspector`) and on stage 4's tasks
//! (`cargo run --example pi_tasks`). `cargo test --test examples` runs these
//! tests.
//!
//! The examples' logic lives in `examples/chess/` and `examples/pi/`, which
//! both the examples and this file include: the numbers tested here are the
//! numbers the examples print. The examples themselves are run too.

#[path = "../examples/chess/mod.rs"]
mod chess;
#[path = "../examples/pi/mod.rs"]
mod pi;

use std::f64::consts::PI;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use demo_support::transcript::assert_matches_file;

use chess::{Exhibition, SOURCE, board_to_board, hms, one_board_at_a_time};
use pi::{
    Leibniz, MAX_TICKS, STABLE_INSPECTIONS, StableDigits, TARGET_YIELDS, leading_digits, next_ticks,
};

/// `cargo run --example <name> -- <args>`, as a reader would type it, so the
/// example is built if it needs to be. One at a time: cargo builds take a
/// lock, and parallel tests would only queue on it.
fn run_example(name: &str, args: &[&str]) -> Output {
    static CARGO: Mutex<()> = Mutex::new(());
    let _one_at_a_time = CARGO.lock().unwrap_or_else(PoisonError::into_inner);
    Command::new(env!("CARGO"))
        .args(["run", "--quiet", "--example", name, "--"])
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo runs")
}

fn stdout_of(run: &Output) -> String {
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    String::from_utf8(run.stdout.clone()).expect("the example prints UTF-8")
}

/// The last line an example wrote to standard error: cargo may write its own
/// lines before it (waiting for a build lock, say).
fn last_error_line(run: &Output) -> String {
    let stderr = String::from_utf8_lossy(&run.stderr);
    stderr.lines().last().unwrap_or_default().to_string()
}

// Scenario 9: the chess exhibition.

/// One game, the master's move and the reply, `move_pairs` times over.
fn one_game(exhibition: Exhibition) -> Duration {
    (exhibition.master_move + exhibition.opponent_move) * exhibition.move_pairs
}

/// Every move the master makes, one after another.
fn all_master_moves(exhibition: Exhibition) -> Duration {
    exhibition.master_move * exhibition.boards * exhibition.move_pairs
}

#[test]
fn one_board_at_a_time_takes_twelve_hours() {
    let outcome = one_board_at_a_time(SOURCE).unwrap();
    let game = one_game(SOURCE);
    assert_eq!(outcome.total(), game * SOURCE.boards);
    assert_eq!(outcome.total(), Duration::from_secs(12 * 60 * 60));
    // Each game starts when the one before it has ended.
    let ends: Vec<Duration> = (1..=SOURCE.boards).map(|board| game * board).collect();
    assert_eq!(outcome.finished, ends);
}

#[test]
fn board_to_board_takes_the_masters_moves_and_one_last_reply() {
    let outcome = board_to_board(SOURCE).unwrap();
    // An opponent's 55 s are over long before the master has made her 23
    // other moves of 5 s, so she never waits: the exhibition is her 720
    // moves, one hour, and then the last opponent's last reply.
    assert!(SOURCE.opponent_move <= SOURCE.master_move * (SOURCE.boards - 1));
    assert_eq!(all_master_moves(SOURCE), Duration::from_secs(60 * 60));
    assert_eq!(outcome.master_moving, all_master_moves(SOURCE));
    assert_eq!(outcome.master_waiting, Duration::ZERO);
    assert_eq!(
        outcome.total(),
        all_master_moves(SOURCE) + SOURCE.opponent_move
    );
    assert_eq!(outcome.total(), Duration::from_secs(60 * 60 + 55));
}

/// Board to board, worked out by hand: in every round the master visits each
/// board once. A round lasts her tour of all the boards, or, if an opponent
/// thinks for longer than that, one board's move pair. The last round ends
/// with her tour and the last reply.
fn board_to_board_by_hand(exhibition: Exhibition) -> Duration {
    let tour = exhibition.master_move * exhibition.boards;
    let round = tour.max(exhibition.master_move + exhibition.opponent_move);
    round * (exhibition.move_pairs - 1) + tour + exhibition.opponent_move
}

#[test]
fn the_simulation_agrees_with_the_arithmetic_for_other_exhibitions() {
    let shapes = [
        SOURCE,
        // Two boards: the master waits for replies.
        Exhibition {
            boards: 2,
            ..SOURCE
        },
        // Twelve boards: her tour takes exactly one move pair.
        Exhibition {
            boards: 12,
            ..SOURCE
        },
        // One board: board to board is one board at a time.
        Exhibition {
            boards: 1,
            ..SOURCE
        },
        Exhibition {
            boards: 7,
            move_pairs: 3,
            master_move: Duration::from_millis(1500),
            opponent_move: Duration::from_millis(12_250),
        },
    ];
    for shape in shapes {
        let one_at_a_time = one_board_at_a_time(shape).unwrap();
        let simultaneous = board_to_board(shape).unwrap();
        assert_eq!(one_at_a_time.total(), one_game(shape) * shape.boards);
        assert_eq!(simultaneous.total(), board_to_board_by_hand(shape));
        for outcome in [one_at_a_time, simultaneous] {
            // Where the time went: her moves, her waiting, the last reply.
            assert_eq!(outcome.master_moving, all_master_moves(shape));
            assert_eq!(
                outcome.total(),
                outcome.master_moving + outcome.master_waiting + shape.opponent_move,
                "{shape:?}"
            );
        }
    }
}

#[test]
fn durations_read_as_hours_minutes_and_seconds() {
    assert_eq!(hms(Duration::from_secs(12 * 60 * 60)), "12 h 00 min 00 s");
    assert_eq!(hms(Duration::from_secs(60 * 60 + 55)), "1 h 00 min 55 s");
    assert_eq!(hms(Duration::from_millis(59_999)), "0 h 00 min 59 s");
}

#[test]
fn the_chess_example_prints_what_the_book_shows() {
    let first = stdout_of(&run_example("chess_exhibition", &[]));
    // Only standard error, which says how long it took, may differ from run
    // to run; standard output is the committed copy the book includes.
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/output/chess-exhibition.txt");
    assert_matches_file(&committed, &first);
    for total in [
        one_game(SOURCE) * SOURCE.boards,
        all_master_moves(SOURCE) + SOURCE.opponent_move,
    ] {
        let line = format!("  the exhibition takes {}", hms(total));
        assert!(first.lines().any(|l| l == line), "{line:?} in\n{first}");
    }
}

// Scenario 8: the pi inspector.

#[test]
fn the_leibniz_series_adds_up_to_pi() {
    let mut series = Leibniz::default();
    assert_eq!((series.terms(), series.denominator()), (0, 0));
    series.add_terms(1);
    assert_eq!((series.estimate(), series.denominator()), (4.0, 1));
    series.add_terms(1);
    assert_eq!(series.estimate(), 4.0 * (1.0 - 1.0 / 3.0));
    assert_eq!(series.denominator(), 3);

    series.add_terms(1_000_000 - 2);
    assert_eq!(series.terms(), 1_000_000);
    // An alternating series is off by less than its next term, 4/(2n+1).
    let error = (series.estimate() - PI).abs();
    assert!(error < 4.0 / 2_000_001.0, "{error}");
}

#[test]
fn the_controller_holds_still_at_the_target() {
    for ticks in [1, 10, 4_812_345, MAX_TICKS] {
        assert_eq!(next_ticks(ticks, TARGET_YIELDS), ticks);
    }
}

#[test]
fn the_controller_moves_in_proportion_and_within_bounds() {
    // Twice the yields wanted: chunks twice as long. Half: half as long.
    assert_eq!(next_ticks(1_000, 2 * TARGET_YIELDS), 2_000);
    assert_eq!(next_ticks(1_000, TARGET_YIELDS / 2), 500);
    // A second without a yield still leaves a chunk of one term...
    assert_eq!(next_ticks(1_000, 0), 1);
    // ...and no chunk grows past the limit.
    assert_eq!(next_ticks(MAX_TICKS, 1_000), MAX_TICKS);
    assert_eq!(next_ticks(u64::MAX, u64::MAX), MAX_TICKS);
}

/// How many times a second a machine that sums `terms_per_second` and spends
/// `overhead` in the loop per yield would yield, with chunks of `ticks`.
fn yields_in_a_second(ticks: u64, terms_per_second: f64, overhead: f64) -> u64 {
    let chunk = ticks as f64 / terms_per_second + overhead;
    (1.0 / chunk).floor() as u64
}

/// The inspector's view, second by second: `(ticks, yields)`, with `control`
/// choosing the next ticks.
fn simulate(
    control: impl Fn(u64, u64) -> u64,
    first_ticks: u64,
    terms_per_second: f64,
    overhead: f64,
    seconds: usize,
) -> Vec<(u64, u64)> {
    let mut ticks = first_ticks;
    let mut trace = Vec::new();
    for _ in 0..seconds {
        let yields = yields_in_a_second(ticks, terms_per_second, overhead);
        trace.push((ticks, yields));
        ticks = control(ticks, yields);
    }
    trace
}

#[test]
fn the_controller_reaches_the_target_from_any_start_at_any_speed() {
    for overhead in [0.0, 1e-6, 20e-6, 1e-3] {
        for terms_per_second in [1e3, 12_345.0, 1e6, 48e6, 123_456_789.0, 1e9] {
            for first_ticks in [1, 7, 1_000, 999_999, 123_456_789, MAX_TICKS] {
                let trace = simulate(next_ticks, first_ticks, terms_per_second, overhead, 30);
                let case = format!("{overhead} s, {terms_per_second} terms/s, from {first_ticks}");
                let reached = trace
                    .iter()
                    .position(|&(_, yields)| yields == TARGET_YIELDS)
                    .unwrap_or_else(|| panic!("never reached the target: {case}"));
                assert!(reached <= 8, "took {reached} s: {case}");
                let held = &trace[reached..];
                assert!(held.iter().all(|&step| step == held[0]), "{case}");
            }
        }
    }
}

#[test]
fn the_source_controller_never_settles() {
    // The Sniffen Packets post: halve when at or below the target, grow by 10% above.
    let source = |ticks: u64, yields: u64| {
        if yields <= TARGET_YIELDS {
            (ticks / 2).max(1)
        } else {
            ticks + ticks / 10
        }
    };
    let trace = simulate(source, 1_000, 48e6, 0.0, 100);
    let late = &trace[50..];
    assert!(late.windows(2).all(|pair| pair[0].0 != pair[1].0));
    let yields: Vec<u64> = late.iter().map(|&(_, yields)| yields).collect();
    let least = yields.iter().copied().min().unwrap();
    let most = yields.iter().copied().max().unwrap();
    assert!(most >= 2 * least, "{least}..{most}");
}

#[test]
fn leading_digits_are_cut_off_not_rounded() {
    assert_eq!(leading_digits(PI, 7), "3.141592");
    assert_eq!(leading_digits(PI, 1), "3");
    assert_eq!(leading_digits(2.999_999_9, 3), "2.99");
    assert_eq!(leading_digits(4.0, 3), "4.00");
}

#[test]
fn the_run_stops_once_the_digits_hold_still_long_enough() {
    let mut rule = StableDigits::new(7);
    // The seven digits change at every look: no stop, however many looks.
    for error in [1e-2, 1e-3, 1e-4, 1e-5] {
        assert!(!rule.observe(PI - error));
    }
    // From now on the estimates are close enough, above pi and below it,
    // to share their first seven digits: 3.141592.
    let close = [PI + 3e-7, PI - 5e-7, PI + 1e-8, PI - 2e-7];
    for look in 1..STABLE_INSPECTIONS {
        let estimate = close[look as usize % close.len()];
        assert!(!rule.observe(estimate), "stopped after {look} looks");
    }
    assert!(rule.observe(PI));
}

#[test]
fn a_change_of_digits_starts_the_count_again() {
    let mut rule = StableDigits::new(3);
    for _ in 1..STABLE_INSPECTIONS {
        assert!(!rule.observe(PI - 0.01)); // 3.13
    }
    assert!(!rule.observe(PI)); // 3.14: the count starts again
    for _ in 1..STABLE_INSPECTIONS - 1 {
        assert!(!rule.observe(PI));
    }
    assert!(rule.observe(PI + 0.007)); // 3.148: still 3.14
}

/// Both versions of scenario 8: stage 2's coroutines and stage 4's tasks.
const PI_EXAMPLES: [&str; 2] = ["pi_inspector", "pi_tasks"];

#[test]
fn the_pi_examples_stop_by_themselves_and_exit_cleanly() {
    for example in PI_EXAMPLES {
        // One digit is stable at once; the run takes STABLE_INSPECTIONS seconds.
        let stdout = stdout_of(&run_example(example, &["--digits", "1"]));
        let inspections = stdout.lines().filter(|l| l.contains("ticks")).count();
        assert_eq!(
            inspections, STABLE_INSPECTIONS as usize,
            "{example}: {stdout}"
        );
        assert_eq!(
            stdout.lines().last(),
            Some("They are right: pi begins 3."),
            "{example}"
        );
    }
}

#[test]
fn the_pi_examples_explain_themselves() {
    for example in PI_EXAMPLES {
        let stdout = stdout_of(&run_example(example, &["--help"]));
        assert!(stdout.contains(&format!("Usage: cargo run --example {example} ")));
        assert!(stdout.contains("--digits N"));
    }
}

#[test]
fn the_pi_examples_refuse_bad_input() {
    for example in PI_EXAMPLES {
        for (args, message) in [
            (
                &["--digits", "ten"][..],
                "--digits takes a whole number from 1 to 9, not \"ten\"; try --help",
            ),
            (
                &["--digits", "0"],
                "--digits takes a whole number from 1 to 9, not \"0\"; try --help",
            ),
            (
                &["--digits"],
                "--digits needs a whole number from 1 to 9 after it; try --help",
            ),
            (&["--fast"], "unknown option \"--fast\"; try --help"),
        ] {
            let run = run_example(example, args);
            assert_eq!(run.status.code(), Some(2), "{example} {args:?}");
            assert!(run.stdout.is_empty(), "{example} {args:?}");
            assert_eq!(last_error_line(&run), message, "{example}");
        }
    }
}
