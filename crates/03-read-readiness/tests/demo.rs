//! The demo binary, run for real: its output on the virtual clock, its
//! timeline and its help are the ones the book shows, and a wrong option, or
//! standard input on the virtual clock, is refused.

use std::path::{Path, PathBuf};

use stage01_generator_loop::transcript::{assert_demo_prints, assert_demo_refuses};

const DEMO: &str = env!("CARGO_BIN_EXE_stage03-read-readiness");

fn committed(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/output")
        .join(name)
}

#[test]
fn virtual_run_prints_what_the_book_shows() {
    assert_demo_prints(DEMO, &["--virtual"], &committed("demo-virtual.txt"));
}

#[test]
fn help_prints_what_the_book_shows() {
    assert_demo_prints(DEMO, &["--help"], &committed("help.txt"));
}

#[test]
fn an_unknown_option_is_refused_with_a_hint() {
    assert_demo_refuses(DEMO, "--fast");
}

#[test]
fn the_timeline_option_draws_the_committed_picture() {
    let run = std::process::Command::new(DEMO)
        .args(["--virtual", "--timeline"])
        .output()
        .expect("the demo starts");
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let stdout = String::from_utf8(run.stdout).expect("the demo prints UTF-8");
    let picture = std::fs::read_to_string(committed("timeline.txt")).unwrap();
    assert!(
        stdout.contains(&picture),
        "the demo's output does not hold the committed picture:\n{stdout}"
    );
}

#[test]
fn standard_input_is_refused_on_the_virtual_clock() {
    let run = std::process::Command::new(DEMO)
        .args(["--virtual", "--stdin"])
        .output()
        .expect("the demo starts");
    assert_eq!(run.status.code(), Some(2));
    assert!(run.stdout.is_empty());
    let stderr = String::from_utf8(run.stderr).expect("the demo prints UTF-8");
    assert_eq!(
        stderr,
        "--stdin needs the real clock: leave out --virtual\n"
    );
}
