//! What a demo prints, kept so that tests can read it back.
//!
//! Mirrors nothing in asyncio: the source's programs simply `print`. Here every
//! line also lands in a shared list, so a test (or the Python parity check)
//! compares the exact lines a reader sees when running the demo.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

/// A shared list of output lines, optionally echoed to standard output as they
/// are written. Clones append to the same list.
#[derive(Debug, Clone, Default)]
pub struct Transcript {
    lines: Rc<RefCell<Vec<String>>>,
    echo: bool,
}

impl Transcript {
    /// A transcript that only records.
    pub fn new() -> Self {
        Self::default()
    }

    /// A transcript that also prints each line the moment it is written, so
    /// a demo on the real clock shows lines as they happen.
    pub fn echoing() -> Self {
        Self {
            echo: true,
            ..Self::default()
        }
    }

    /// Append a line.
    pub fn say(&self, line: impl Into<String>) {
        let line = line.into();
        if self.echo {
            println!("{line}");
        }
        self.lines.borrow_mut().push(line);
    }

    /// Append a line stamped with a loop time, in seconds to the millisecond.
    pub fn at(&self, time: Duration, text: &str) {
        self.say(format!("{:7.3}  {text}", time.as_secs_f64()));
    }

    /// Every line written so far.
    pub fn lines(&self) -> Vec<String> {
        self.lines.borrow().clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_lines_and_stamps_are_aligned() {
        let out = Transcript::new();
        let other = out.clone();
        other.at(Duration::from_millis(250), "...");
        out.say("done");
        assert_eq!(out.lines(), vec!["  0.250  ...", "done"]);
    }
}
