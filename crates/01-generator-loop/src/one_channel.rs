//! The first loop of the blog post "A little example of how Asyncio works",
//! where guesses and results share one channel.
//!
//! Mirrors Python generators before PEP 380 (Python 3.3), which could not
//! `return` a value: whatever a generator produced, it had to `yield`. The
//! blog post's toy loop therefore treats every yielded number as a guess and every
//! other yielded value as a result. With `yield from`, a sub-generator's yields
//! pass straight through, its final value included, and the loop cannot tell
//! the task's result from an inner one: every `Sleep X over` leaks into the
//! results list. [`crate::composition`] is the corrected form.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use demo_support::Transcript;

use crate::coroutine::{Coroutine, Step};
use crate::sleep::Sleep;

// ANCHOR: generator
/// What a one-channel generator yields.
#[derive(Debug, Clone, PartialEq)]
pub enum ToyYield {
    /// A number: "resume me in about this many seconds".
    Wait(f64),
    /// Anything else: the loop takes it for a result.
    Value(String),
}

/// Python's `next(gen)`: `None` is `StopIteration`, which here has no value.
pub trait Generator {
    /// Run to the next `yield`, or to the end.
    fn next(&mut self, now: Duration) -> Option<ToyYield>;
}
// ANCHOR_END: generator

/// A coroutine rewritten for one channel: it yields its result, then ends.
/// This is the blog post's `sleep`, whose last line is `yield "Sleep N over"`.
pub struct YieldsItsResult<C> {
    coroutine: C,
    finished: bool,
}

impl<C> YieldsItsResult<C> {
    /// Wrap a coroutine.
    pub fn new(coroutine: C) -> Self {
        Self {
            coroutine,
            finished: false,
        }
    }
}

impl<C: Coroutine<Yield = f64, Output = String>> Generator for YieldsItsResult<C> {
    fn next(&mut self, now: Duration) -> Option<ToyYield> {
        if self.finished {
            return None;
        }
        match self.coroutine.resume(now) {
            Step::Yielded(guess) => Some(ToyYield::Wait(guess)),
            Step::Complete(value) => {
                self.finished = true;
                Some(ToyYield::Value(value))
            }
        }
    }
}

// ANCHOR: leaky_printer
/// `print_every_period` for one channel: `yield from` forwards everything the
/// inner sleep yields, its final value included.
pub struct LeakyPrintEveryPeriod {
    message: String,
    period: Duration,
    repeat: u32,
    out: Transcript,
    printed: u32,
    sleeping: Option<YieldsItsResult<Sleep>>,
    returned: bool,
}

impl Generator for LeakyPrintEveryPeriod {
    fn next(&mut self, now: Duration) -> Option<ToyYield> {
        loop {
            if let Some(sleep) = &mut self.sleeping {
                match sleep.next(now) {
                    Some(yielded) => return Some(yielded), // a value leaks here
                    None => {
                        self.sleeping = None;
                        self.out.at(now, &self.message);
                        self.printed += 1;
                    }
                }
            } else if self.printed < self.repeat {
                self.sleeping = Some(YieldsItsResult::new(Sleep::new(self.period)));
            } else if !self.returned {
                self.returned = true;
                let period = self.period.as_secs_f64();
                return Some(ToyYield::Value(format!("Print {period} over")));
            } else {
                return None;
            }
        }
    }
}
// ANCHOR_END: leaky_printer

impl LeakyPrintEveryPeriod {
    /// Print `message` every `period`, `repeat` times, then yield a result.
    pub fn new(message: &str, period: Duration, repeat: u32, out: Transcript) -> Self {
        Self {
            message: message.to_string(),
            period,
            repeat,
            out,
            printed: 0,
            sleeping: None,
            returned: false,
        }
    }
}

// ANCHOR: one_channel_task
/// The toy loop's rule for one task, as a coroutine our loop can run: resume
/// the generator; a number is a guess, anything else goes on the shared
/// results list and the generator is resumed again at once; the end is the end.
pub struct OneChannelTask<G> {
    generator: G,
    results: Rc<RefCell<Vec<String>>>,
}

impl<G: Generator> Coroutine for OneChannelTask<G> {
    type Yield = f64;
    type Output = ();

    fn resume(&mut self, now: Duration) -> Step<f64, ()> {
        loop {
            match self.generator.next(now) {
                Some(ToyYield::Wait(guess)) => return Step::Yielded(guess),
                Some(ToyYield::Value(value)) => self.results.borrow_mut().push(value),
                None => return Step::Complete(()),
            }
        }
    }
}
// ANCHOR_END: one_channel_task

impl<G> OneChannelTask<G> {
    /// Run `generator`, appending whatever it yields that is not a guess to
    /// `results`, which every task of the toy loop shares.
    pub fn new(generator: G, results: Rc<RefCell<Vec<String>>>) -> Self {
        Self { generator, results }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_inner_result_leaks_before_the_outer_one() {
        let out = Transcript::new();
        let results = Rc::new(RefCell::new(Vec::new()));
        let printer = LeakyPrintEveryPeriod::new("tick", Duration::from_secs(1), 2, out.clone());
        let mut task = OneChannelTask::new(printer, results.clone());

        assert_eq!(task.resume(Duration::ZERO), Step::Yielded(1.0));
        assert_eq!(task.resume(Duration::from_secs(1)), Step::Yielded(1.0));
        assert_eq!(task.resume(Duration::from_secs(2)), Step::Complete(()));

        assert_eq!(
            *results.borrow(),
            ["Sleep 1 over", "Sleep 1 over", "Print 1 over"]
        );
        assert_eq!(out.lines(), ["  1.000  tick", "  2.000  tick"]);
    }
}
