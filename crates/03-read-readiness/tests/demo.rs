//! The demo binary, run for real: its output on the virtual clock, its
//! timeline and its help are the ones the book shows, and a wrong option, or
//! standard input on the virtual clock, is refused.

// `tests/output/demo-virtual.txt` and `tests/output/help.txt`, and `DEMO`
// and `committed` for the tests below.
demo_support::demo_tests!("stage03-read-readiness");

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
