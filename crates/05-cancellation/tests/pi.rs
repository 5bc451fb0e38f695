//! Scenario 8 on the virtual clock, where a term takes 1 us: the source's
//! controller, the rule that stops it once the digits asked for are
//! settled, and the transcript the book shows.

use std::f64::consts::PI;
use std::path::Path;
use std::process::Command;

use demo_support::Transcript;
use demo_support::transcript::assert_matches_file;
use stage01_generator_loop::VirtualClock;
use stage05_cancellation::scenarios::{
    PiSettings, approximate_pi, leading_digits, next_ticks, settled_digits,
};

const DEMO: &str = env!("CARGO_BIN_EXE_stage05-cancellation");

#[test]
fn the_controller_halves_at_or_below_the_target_and_grows_by_a_tenth_above() {
    assert_eq!(
        next_ticks(1000, 3, 10),
        500,
        "too few yields: yield more often"
    );
    assert_eq!(
        next_ticks(1000, 10, 10),
        500,
        "at the target too: `<=` comes first"
    );
    assert_eq!(
        next_ticks(1000, 11, 10),
        1100,
        "too many: a tenth more per yield"
    );
    assert_eq!(next_ticks(1, 0, 10), 1, "never none at all");
    assert_eq!(
        next_ticks(5, 20, 10),
        6,
        "a tenth, rounded up: it still grows"
    );
}

#[test]
fn digits_are_settled_only_once_the_rest_of_the_series_cannot_change_them() {
    assert_eq!(leading_digits(PI, 5), "3.1415", "cut, not rounded");
    // After 5 478 816 terms the next denominator is 10 957 633: the rest
    // moves the estimate by less than 4 / 10 957 633 = 3.7e-7.
    let estimate = 3.1415924711;
    assert_eq!(
        settled_digits(estimate, 10_957_633, 7).as_deref(),
        Some("3.141592")
    );
    assert_eq!(
        settled_digits(estimate, 10_957_633, 8),
        None,
        "3.1415924 shows, but 3.1415928 is within reach"
    );
    // The trap of "the same digits for a while": after 14 million terms
    // the estimate shows 3.1415925 for seconds, one digit wrong.
    assert_eq!(leading_digits(3.1415925680, 8), "3.1415925");
    assert_eq!(settled_digits(3.1415925680, 23_361_185, 8), None);
}

#[test]
fn the_virtual_run_follows_the_controller_and_stops_once_its_digits_settle() {
    let out = Transcript::new();
    let settled = approximate_pi(VirtualClock::new(), PiSettings::VIRTUAL, &out).unwrap();
    assert_eq!(settled, leading_digits(PI, 7), "pi's own");
    let lines = out.lines();
    let reports: Vec<(u64, u32)> = lines
        .iter()
        .filter_map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            let at = |name| {
                words
                    .iter()
                    .position(|word| *word == name)
                    .map(|i| words[i + 1])
            };
            Some((at("ticks")?.parse().ok()?, at("yields")?.parse().ok()?))
        })
        .collect();
    assert_eq!(reports.len(), 4, "{lines:#?}");
    assert_eq!(reports[0].0, PiSettings::VIRTUAL.ticks);
    for pair in reports.windows(2) {
        let ((ticks, yields), (next, _)) = (pair[0], pair[1]);
        assert_eq!(next, next_ticks(ticks, yields, 10), "{lines:#?}");
    }
    let unstamped = |line: &String| line.trim_start().split_once("  ").unwrap().1.to_string();
    let last: Vec<String> = lines[lines.len() - 3..].iter().map(unstamped).collect();
    assert_eq!(
        last,
        [
            "inspector: 3.141592 is settled; stops the computer",
            "computer: cancelled at its yield, after 5478816 terms",
            "inspector: the computer ended: Err(cancelled)",
        ]
    );
}

#[test]
fn the_virtual_demo_prints_what_the_book_shows() {
    let output = Command::new(DEMO)
        .args(["--pi", "--virtual"])
        .output()
        .unwrap();
    assert!(output.status.success());
    assert!(output.stderr.is_empty(), "nothing reported");
    let printed = String::from_utf8(output.stdout).unwrap();
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/output/pi-virtual.txt");
    assert_matches_file(&committed, &printed);
}
