//! Scenario 9's five tasks, drawn: the SVG the book shows and the terminal
//! picture the demo prints are both compared with committed copies.

use std::path::Path;

use demo_support::transcript::assert_matches_file;
use demo_support::{Timeline, Transcript};
use stage01_generator_loop::VirtualClock;
use stage04_futures_tasks::scenarios;

/// Scenario 9 on the virtual clock, recorded.
fn scenario_9() -> Timeline {
    let timeline = Timeline::new();
    scenarios::concurrency_arithmetic(VirtualClock::new, &Transcript::new(), &timeline)
        .expect("scenario 9 runs");
    timeline
}

#[test]
fn the_book_shows_scenario_9_as_svg() {
    let book = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../book/src/images");
    assert_matches_file(
        &book.join("stage04-timeline.svg"),
        &scenario_9().render_svg(),
    );
}

#[test]
fn the_demo_draws_the_committed_terminal_picture() {
    let picture = scenario_9().render_text(60) + "\n";
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/output/timeline.txt");
    assert_matches_file(&committed, &picture);
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_stage04-futures-tasks"))
        .args(["--virtual", "--timeline"])
        .output()
        .expect("the demo runs");
    assert!(run.status.success());
    let stdout = String::from_utf8(run.stdout).expect("UTF-8");
    assert!(stdout.contains(&picture), "{stdout}");
}
