//! Composition: a coroutine that runs another inside it (`yield from`, `await`).
//!
//! Mirrors PEP 380's `yield from` in CPython (`Python/ceval.c`, the `SEND`
//! instruction): the outer generator passes each of the inner one's yields out
//! to the loop unchanged, and when the inner one returns, its return value
//! becomes the value of the `yield from` expression. The example of
//! "A little example of how Asyncio works" is
//!
//! ```python
//! def print_every_period(msg, period):
//!     for _ in range(int(3 / period)):
//!         yield from sleep(period)
//!         print(msg)
//!     return f"Print {period} over"
//! ```
//!
//! Below it is written twice: by hand, as the state machine a compiler would
//! make of it, and as an `async fn`, where the compiler makes that machine.

use std::time::Duration;

use demo_support::Transcript;

use crate::async_coroutine::Yielder;
use crate::coroutine::{Coroutine, Step};
use crate::sleep::Sleep;

// ANCHOR: state_machine
/// `print_every_period` as a hand-written state machine.
pub struct PrintEveryPeriod {
    message: String,
    period: Duration,
    repeat: u32,
    out: Transcript,
    state: State,
}

/// Where the generator is suspended: one variant per `yield` point, plus the
/// start and the end. The fields are the locals live at that point.
enum State {
    /// Created, not yet resumed: no line of the body has run.
    Start,
    /// Suspended inside `yield from sleep(period)`, `printed` lines so far.
    Sleeping { sleep: Sleep, printed: u32 },
    /// Returned; resuming again answers the same result.
    Finished,
}

impl PrintEveryPeriod {
    /// Print `message` every `period`, `repeat` times, then complete.
    pub fn new(message: &str, period: Duration, repeat: u32, out: Transcript) -> Self {
        Self {
            message: message.to_string(),
            period,
            repeat,
            out,
            state: State::Start,
        }
    }

    /// The top of the `for` loop: sleep again, or fall out of it.
    fn next_iteration(&self, printed: u32) -> State {
        if printed < self.repeat {
            let sleep = Sleep::new(self.period);
            State::Sleeping { sleep, printed }
        } else {
            State::Finished
        }
    }
}

impl Coroutine for PrintEveryPeriod {
    type Yield = f64;
    type Output = String;

    fn resume(&mut self, now: Duration) -> Step<f64, String> {
        // Run from where we were suspended until the next suspension point.
        loop {
            match &mut self.state {
                State::Start => self.state = self.next_iteration(0),
                State::Sleeping { sleep, printed } => match sleep.resume(now) {
                    // `yield from`: the inner guess goes out to the loop as is.
                    Step::Yielded(guess) => return Step::Yielded(guess),
                    // The inner return value is the value of `yield from`;
                    // this function ignores it, as the Python one does.
                    Step::Complete(_) => {
                        let printed = *printed + 1;
                        self.out.at(now, &self.message);
                        self.state = self.next_iteration(printed);
                    }
                },
                State::Finished => {
                    let period = self.period.as_secs_f64();
                    return Step::Complete(format!("Print {period} over"));
                }
            }
        }
    }
}
// ANCHOR_END: state_machine

// ANCHOR: async_fn
/// `print_every_period` as an `async fn`: the compiler writes the state machine.
pub async fn print_every_period(
    co: Yielder,
    message: String,
    period: Duration,
    repeat: u32,
    out: Transcript,
) -> String {
    for _ in 0..repeat {
        co.sleep(period).await;
        out.at(co.now(), &message);
    }
    format!("Print {} over", period.as_secs_f64())
}
// ANCHOR_END: async_fn

#[cfg(test)]
mod tests {
    use super::*;
    use crate::async_coroutine::AsyncCoroutine;

    /// Resume a coroutine at the times it asks for, recording every answer.
    fn drive<C>(mut coroutine: C) -> Vec<Step<f64, String>>
    where
        C: Coroutine<Yield = f64, Output = String>,
    {
        let mut now = Duration::ZERO;
        let mut answers = Vec::new();
        loop {
            let step = coroutine.resume(now);
            answers.push(step.clone());
            match step {
                Step::Yielded(guess) => now += Duration::from_secs_f64(guess),
                Step::Complete(_) => return answers,
            }
        }
    }

    #[test]
    fn hand_written_and_async_answer_alike() {
        let period = Duration::from_millis(500);
        let by_hand_out = Transcript::new();
        let by_hand = drive(PrintEveryPeriod::new("hi", period, 3, by_hand_out.clone()));
        let async_out = Transcript::new();
        let out = async_out.clone();
        let compiled = drive(AsyncCoroutine::new(move |co| {
            print_every_period(co, "hi".into(), period, 3, out)
        }));

        let expected = vec![
            Step::Yielded(0.5),
            Step::Yielded(0.5),
            Step::Yielded(0.5),
            Step::Complete("Print 0.5 over".to_string()),
        ];
        assert_eq!(by_hand, expected);
        assert_eq!(compiled, expected);
        let lines = vec!["  0.500  hi", "  1.000  hi", "  1.500  hi"];
        assert_eq!(by_hand_out.lines(), lines);
        assert_eq!(async_out.lines(), lines);
    }

    #[test]
    fn zero_repeats_complete_at_once() {
        let out = Transcript::new();
        let answers = drive(PrintEveryPeriod::new(
            "x",
            Duration::from_secs(1),
            0,
            out.clone(),
        ));
        assert_eq!(answers, vec![Step::Complete("Print 1 over".to_string())]);
        assert!(out.lines().is_empty());
    }
}
