//! Scenario 4's timeline, drawn: the SVG the book shows and the terminal
//! picture the demo prints are both compared with committed copies.

use std::path::{Path, PathBuf};

use demo_support::{Timeline, Transcript, transcript::assert_matches_file};
use stage01_generator_loop::VirtualClock;
use stage02_timed_events::scenarios;

/// Scenario 4 on the virtual clock, recorded.
fn scenario_4() -> Timeline {
    let timeline = Timeline::new();
    scenarios::timed_events(VirtualClock::new(), &Transcript::new(), &timeline)
        .expect("scenario 4 runs");
    timeline
}

/// A path from the workspace's root.
fn from_root(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

#[test]
fn the_book_shows_scenario_4_as_svg() {
    assert_matches_file(
        &from_root("book/src/images/stage02-timeline.svg"),
        &scenario_4().render_svg(),
    );
}

#[test]
fn the_terminal_picture_of_scenario_4_is_committed() {
    let text = scenario_4().render_text(60) + "\n";
    assert_matches_file(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/output/timeline.txt"),
        &text,
    );
}

#[test]
fn the_demo_draws_the_committed_terminal_picture() {
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_stage02-timed-events"))
        .args(["--virtual", "--timeline"])
        .output()
        .expect("the demo binary runs");
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let stdout = String::from_utf8(run.stdout).expect("the demo prints UTF-8");
    let picture = scenario_4().render_text(60) + "\n";
    assert!(
        stdout.contains(&picture),
        "the demo's output does not hold scenario 4's picture:\n{stdout}"
    );
}
