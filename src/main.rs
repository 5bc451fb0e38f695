//! `cargo run` at the top of the workspace: say which stages there are and how
//! to run each one.

const STAGES: &[(&str, &str)] = &[(
    "stage01-generator-loop",
    "a loop that runs resumable coroutines and sleeps by guessing",
)];

fn main() {
    println!("asyncio from scratch: one crate per layer. Run a stage with");
    println!("  cargo run -p <stage> [-- --help]\n");
    for (package, teaches) in STAGES {
        println!("  {package:<26} {teaches}");
    }
    println!("\nThe book: mdbook serve book --open");
}
