//! Scenarios 7 and 9, drawn: the SVGs the book shows and the terminal
//! pictures the demo prints are compared with committed copies.

use std::path::Path;

use demo_support::transcript::assert_matches_file;
use demo_support::{Mark, Timeline, Transcript};
use stage01_generator_loop::VirtualClock;
use stage03_read_readiness::events::fd_ready_mark;
use stage04_futures_tasks::futures::future_done_mark;
use stage04_futures_tasks::scenarios;

/// Scenario 7 on the virtual clock, recorded.
fn scenario_7() -> Timeline {
    let timeline = Timeline::new();
    scenarios::socket_chain(VirtualClock::new(), &Transcript::new(), &timeline)
        .expect("scenario 7 runs");
    timeline
}

/// Scenario 9 on the virtual clock, recorded.
fn scenario_9() -> Timeline {
    let timeline = Timeline::new();
    scenarios::concurrency_arithmetic(VirtualClock::new, &Transcript::new(), &timeline)
        .expect("scenario 9 runs");
    timeline
}

fn book_image(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../book/src/images")
        .join(name)
}

fn output_file(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/output")
        .join(name)
}

/// What `--virtual --timeline` prints.
fn demo_with_timelines() -> String {
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_stage04-futures-tasks"))
        .args(["--virtual", "--timeline"])
        .output()
        .expect("the demo runs");
    assert!(run.status.success());
    String::from_utf8(run.stdout).expect("UTF-8")
}

#[test]
fn the_book_shows_scenario_7_as_svg() {
    assert_matches_file(&book_image("stage04-chain.svg"), &scenario_7().render_svg());
}

#[test]
fn the_book_shows_scenario_9_as_svg() {
    assert_matches_file(
        &book_image("stage04-timeline.svg"),
        &scenario_9().render_svg(),
    );
}

#[test]
fn scenario_7_marks_the_chain_in_its_order_at_one_moment() {
    // All at the moment the timer sends: the socket found ready, its future
    // done, the task resumed and completed (and its own future done). The
    // order is the chain's: nothing resumes the task before the future.
    let at_send = (scenarios::SEND_AT * 1e9) as i64;
    let task = "receive".to_string();
    let marks: Vec<Mark> = scenario_7()
        .marks()
        .into_iter()
        .filter(|(at, mark)| *at == at_send && !matches!(mark, Mark::Slept { .. }))
        .map(|(_, mark)| mark)
        .collect();
    let expected = vec![
        fd_ready_mark(),
        future_done_mark(),
        Mark::Resumed { task: task.clone() },
        Mark::Completed { task },
        future_done_mark(),
    ];
    assert_eq!(marks, expected);
}

#[test]
fn the_demo_draws_the_committed_terminal_pictures() {
    let chain = scenario_7().render_text(60) + "\n";
    let counts = scenario_9().render_text(60) + "\n";
    assert_matches_file(&output_file("chain-timeline.txt"), &chain);
    assert_matches_file(&output_file("timeline.txt"), &counts);
    let stdout = demo_with_timelines();
    assert!(stdout.contains(&chain), "{stdout}");
    assert!(stdout.contains(&counts), "{stdout}");
    assert!(
        stdout.find(&chain) < stdout.find(&counts),
        "scenario 7 first: {stdout}"
    );
}
