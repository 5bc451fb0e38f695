//! The demo binary, run for real: its output on the virtual clock and its
//! help are the ones the book shows, and a wrong option is refused.

use std::path::{Path, PathBuf};

use stage01_generator_loop::transcript::{assert_demo_prints, assert_demo_refuses};

const DEMO: &str = env!("CARGO_BIN_EXE_stage01-generator-loop");

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
