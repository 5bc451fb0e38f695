//! The selector benchmark under the usual limit on open descriptors.
//!
//! It watches up to 1,024 socket pairs, and numbers their far ends from
//! 1,024 up: more than the common soft limit (`ulimit -n`) of 1,024 allows.
//! It raises the soft limit to the hard one itself, and skips, with a
//! message, the sizes that still do not fit. Both are checked here by
//! listing the benchmarks (`-- --list`), which opens every descriptor the
//! measurements would use but measures nothing: a few seconds, after the
//! benchmark is built (in release mode, about a minute the first time).

use std::process::{Command, Output};

/// `cargo bench` of the selector benchmark, listing only, under a shell
/// that first sets `ulimit` to `limits`.
fn list_benchmarks_under(limits: &str) -> Output {
    let cargo = env!("CARGO");
    let script = format!(
        "ulimit {limits} && exec \"$0\" bench -p stage03-read-readiness --features bench \
         --bench selectors -- --list"
    );
    Command::new("sh")
        .args(["-c", &script, cargo])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("sh runs cargo")
}

#[test]
fn the_selector_benchmark_raises_a_soft_limit_of_1024_and_skips_what_cannot_fit() {
    // A soft limit of 1,024 under a higher hard one: raised, nothing skipped.
    let hard = list_benchmarks_under("-Sn 1024");
    let stderr = String::from_utf8_lossy(&hard.stderr);
    assert!(hard.status.success(), "{stderr}");
    let listed = String::from_utf8_lossy(&hard.stdout);
    assert!(
        listed.contains("stage03_one_ready_of_k/poll/1024: benchmark"),
        "{listed}"
    );
    if stderr.contains("skipped") {
        eprintln!("this machine's hard limit is low; the next check covers skipping");
    }

    // Both limits at 1,500: nothing to raise, so the two largest sizes are
    // skipped, each with a line that says why, and the rest still run.
    let low = list_benchmarks_under("-n 1500");
    let stderr = String::from_utf8_lossy(&low.stderr);
    assert!(low.status.success(), "{stderr}");
    assert!(
        stderr.contains("skipped K = 1000: it needs `ulimit -n` of 2088 or more"),
        "{stderr}"
    );
    let listed = String::from_utf8_lossy(&low.stdout);
    assert!(
        listed.contains("stage03_one_ready_of_k/poll/256: benchmark"),
        "{listed}"
    );
    assert!(!listed.contains("/1024: benchmark"), "{listed}");
}
