//! Stage 1 against Python: scenarios 1 and 2 run on our Rust loop and on
//! Python generators (tests/parity/stage01_generator_loop.py), both on a
//! virtual clock, must print the same lines, counts included.

mod common;

use demo_support::Transcript;
use stage01_generator_loop::VirtualClock;
use stage01_generator_loop::scenarios::{composition, composition_leaky, sleep_by_guessing};

#[test]
fn scenarios_1_and_2_match_python_generators_line_by_line() {
    let Some(python) = common::python_trace("stage01_generator_loop.py") else {
        return;
    };
    let rust = Transcript::new();
    sleep_by_guessing(VirtualClock::new(), &rust).unwrap();
    composition_leaky(VirtualClock::new(), &rust).unwrap();
    composition(VirtualClock::new(), &rust).unwrap();

    common::assert_same_lines(&python, &rust.lines());
}
