//! The demo binary, run for real: its output on the virtual clock and its
//! help are the ones the book shows, and a wrong flag is refused.

use std::path::Path;
use std::process::{Command, Output};

use stage01_generator_loop::transcript::assert_matches_file;

fn demo(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stage01-generator-loop"))
        .args(args)
        .output()
        .expect("the demo binary runs")
}

fn committed(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/output")
        .join(name)
}

#[test]
fn virtual_run_prints_what_the_book_shows() {
    let run = demo(&["--virtual"]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let stdout = String::from_utf8(run.stdout).unwrap();
    assert_matches_file(&committed("demo-virtual.txt"), &stdout);
}

#[test]
fn help_prints_what_the_book_shows() {
    let run = demo(&["--help"]);
    assert!(run.status.success());
    assert_matches_file(
        &committed("help.txt"),
        &String::from_utf8(run.stdout).unwrap(),
    );
}

#[test]
fn an_unknown_flag_is_refused_with_a_hint() {
    let run = demo(&["--fast"]);
    assert_eq!(run.status.code(), Some(2));
    assert!(run.stdout.is_empty());
    let stderr = String::from_utf8(run.stderr).unwrap();
    assert_eq!(stderr, "unknown option \"--fast\"; try --help\n");
}
