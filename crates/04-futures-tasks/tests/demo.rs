//! The demo binary, run for real: its output on the virtual clock and its
//! help are the ones the book shows (`tests/output/demo-virtual.txt`,
//! `tests/output/help.txt`), and a wrong option is refused.

demo_support::demo_tests!("stage04-futures-tasks");
