//! The demo prints what the book shows: `tests/output/demo-virtual.txt`
//! is the `--virtual --timeline` run, word for word.

use std::path::Path;
use std::process::Command;

use demo_support::transcript::assert_matches_file;

const DEMO: &str = env!("CARGO_BIN_EXE_stage05-cancellation");

#[test]
fn the_virtual_run_prints_what_the_book_shows() {
    let output = Command::new(DEMO)
        .args(["--virtual", "--timeline"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let printed = String::from_utf8(output.stdout).unwrap();
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/output/demo-virtual.txt");
    assert_matches_file(&committed, &printed);
}

#[test]
fn help_names_every_option_and_a_wrong_one_fails() {
    let help = Command::new(DEMO).arg("--help").output().unwrap();
    assert!(help.status.success());
    let text = String::from_utf8(help.stdout).unwrap();
    for option in ["--virtual", "--timeline", "--help"] {
        assert!(text.contains(option), "{option}");
    }
    let wrong = Command::new(DEMO).arg("--nope").output().unwrap();
    assert!(!wrong.status.success());
}
