//! `cargo run` at the top of the workspace: say which stages there are and how
//! to run each one.

const STAGES: &[(&str, &str)] = &[
    (
        "stage01-generator-loop",
        "a loop that runs resumable coroutines and sleeps by guessing",
    ),
    (
        "stage02-timed-events",
        "a schedule of wake-up times, and the callback event loop",
    ),
    (
        "stage03-read-readiness",
        "waiting for file descriptors with select and poll",
    ),
    (
        "stage04-futures-tasks",
        "futures, tasks and wakers on the selector loop",
    ),
    (
        "stage05-cancellation",
        "cancellation, delivered at the await where a task waits",
    ),
    (
        "stage06-socket-io",
        "non-blocking sockets and streams, on mio (epoll)",
    ),
];

fn main() {
    println!("asyncio from scratch: one crate per layer. Run a stage with");
    println!("  cargo run -p <stage> [-- --help]\n");
    for (package, teaches) in STAGES {
        println!("  {package:<26} {teaches}");
    }
    println!("\nThe book: mdbook serve book --open");
}

#[cfg(test)]
mod tests {
    use super::STAGES;
    use std::path::Path;

    /// The list above, the crates on disk and the README's table must agree.
    #[test]
    fn every_stage_crate_is_listed_and_in_the_readme() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut on_disk: Vec<String> = std::fs::read_dir(root.join("crates"))
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .filter(|name| name.starts_with('0'))
            .map(|name| format!("stage{name}"))
            .collect();
        on_disk.sort();
        let listed: Vec<&str> = STAGES.iter().map(|(package, _)| *package).collect();
        assert_eq!(listed, on_disk);

        let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
        for package in listed {
            assert!(
                readme.contains(&format!("`cargo run -p {package}`")),
                "{package}"
            );
        }
    }
}
