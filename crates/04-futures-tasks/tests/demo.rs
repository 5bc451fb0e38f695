//! The demo binary, run for real: its output on the virtual clock and its
//! help are the ones the book shows (`tests/output/demo-virtual.txt`,
//! `tests/output/help.txt`), and a wrong option is refused.

demo_support::demo_tests!("stage04-futures-tasks");

/// `--threads` runs on real threads: the notifier's order is fixed, the
/// tasks' count exact, and the threads' count whatever they managed, but
/// never more than was added.
#[test]
fn the_threads_run_prints_the_notifiers_order_and_both_counts() {
    let output = std::process::Command::new(DEMO)
        .arg("--threads")
        .output()
        .unwrap();
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let expected = std::fs::read_to_string(committed("demo-threads.txt")).unwrap();
    let expected: Vec<&str> = expected.lines().collect();
    assert_eq!(lines.len(), expected.len(), "{text}");
    for (line, want) in lines.iter().zip(&expected) {
        if let Some(rest) = want.strip_prefix("4 threads, 1000000 increments each: counted ") {
            assert!(
                rest.starts_with('N'),
                "the committed file leaves the count out"
            );
            let counted: u64 = line
                .strip_prefix("4 threads, 1000000 increments each: counted ")
                .and_then(|rest| rest.split(' ').next())
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("not a count: {line}"));
            assert!(counted <= 4_000_000, "{line}");
        } else {
            assert_eq!(line, want);
        }
    }
}

/// Debug mode, asked for by `--debug` or by `ASYNCIO_DEBUG=1`, is on in
/// the loops the demo makes (it says so first, having asked one), and finds
/// nothing to report in the virtual run but scenario 11's blocking task,
/// which is in debug mode anyway: otherwise the same output, word for word.
#[test]
fn debug_mode_by_flag_or_by_environment_reports_only_the_blocking_task() {
    let expected = format!(
        "Debug mode is on: every loop reports a step that holds it for 0.1 s or more.\n{}",
        std::fs::read_to_string(committed("demo-virtual.txt")).unwrap()
    );
    let by_flag = std::process::Command::new(DEMO)
        .args(["--virtual", "--debug"])
        .output()
        .unwrap();
    let by_environment = std::process::Command::new(DEMO)
        .arg("--virtual")
        .env("ASYNCIO_DEBUG", "1")
        .output()
        .unwrap();
    for output in [by_flag, by_environment] {
        assert!(output.status.success());
        assert_eq!(String::from_utf8(output.stdout).unwrap(), expected);
        assert_eq!(
            String::from_utf8(output.stderr).unwrap(),
            "",
            "nothing else reported"
        );
    }
}
