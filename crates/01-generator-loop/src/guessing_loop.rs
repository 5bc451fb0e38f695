//! The loop: resume every task once per round, then sleep for the smallest guess.
//!
//! Mirrors the toy `run(tasks)` loop of the blog post "A little example of how
//! Asyncio works". In CPython the same job belongs to
//! `BaseEventLoop.run_forever` and `_run_once` (`asyncio/base_events.py`), which
//! stage 2 rebuilds so that nothing has to guess. Names follow asyncio where the
//! idea is the same: `create_task`, `run_forever`, `run_until_complete`, `gather`.

use std::any::Any;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

use crate::clock::Clock;
use crate::coroutine::{Coroutine, Step};

/// Names one task of one loop: tasks are numbered from 0 in creation order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TaskId(pub usize);

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "task {}", self.0)
    }
}

/// A task's result and the loop time at which it completed.
#[derive(Debug, Clone, PartialEq)]
pub struct Completed<T> {
    /// Which task produced it.
    pub task: TaskId,
    /// The loop's clock when the task answered [`Step::Complete`].
    pub at: Duration,
    /// The value it completed with.
    pub value: T,
}

/// What the loop counted: the price of guessing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Rounds made: each round resumes every pending task once.
    pub rounds: u64,
    /// Resumes made, in all rounds.
    pub resumes: u64,
    /// Resumes that came before the time the task itself asked for, so they
    /// found nothing to do. A loop that knew the wake-up times (stage 2) would
    /// not have made them.
    pub early_resumes: u64,
    /// Time spent sleeping between rounds.
    pub slept: Duration,
}

// ANCHOR: guess_rule
/// The last time the loop's clock can count: `u64::MAX` nanoseconds, about
/// 584 years after the clock started.
///
/// [`VirtualClock`](crate::VirtualClock) keeps its time in a `u64` of
/// nanoseconds, so sleeping past this would overflow it. The real clock could
/// count further, but a program should meet the same rule under test as it
/// does for real, so the loop refuses any wake-up time past this one on every
/// clock.
pub const CLOCK_LIMIT: Duration = Duration::from_nanos(u64::MAX);

/// Why a guess was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuessError {
    /// NaN: no amount of waiting is "about NaN seconds".
    NotANumber,
    /// Plus or minus infinity: nothing could ever resume the task on time.
    NotFinite,
    /// Finite, but the task would wake (`now + guess`) after [`CLOCK_LIMIT`],
    /// the last time the loop's clock can count (about 584 years).
    TooLong,
}

/// The rule for turning a coroutine's guess into a wait.
///
/// A negative guess means "I am overdue" and counts as zero, as a negative
/// delay does in asyncio's `call_later`. Zero means "resume me next round".
/// A wait longer than [`CLOCK_LIMIT`] could never end on the loop's clock.
pub fn wait_for_guess(guess: f64) -> Result<Duration, GuessError> {
    if guess.is_nan() {
        Err(GuessError::NotANumber)
    } else if guess.is_infinite() {
        Err(GuessError::NotFinite)
    } else if guess <= 0.0 {
        Ok(Duration::ZERO)
    } else {
        Duration::try_from_secs_f64(guess)
            .ok()
            .filter(|&wait| wait <= CLOCK_LIMIT)
            .ok_or(GuessError::TooLong)
    }
}

/// The time a task that guessed `guess` at `now` asks to be resumed at.
///
/// A wait that fits on its own can still end past [`CLOCK_LIMIT`] when the
/// clock is already late, so the sum is checked too: every wake-up the loop
/// accepts is one its clock can sleep until.
pub fn due_for_guess(now: Duration, guess: f64) -> Result<Duration, GuessError> {
    let wait = wait_for_guess(guess)?;
    now.checked_add(wait)
        .filter(|&due| due <= CLOCK_LIMIT)
        .ok_or(GuessError::TooLong)
}
// ANCHOR_END: guess_rule

/// Why the loop stopped before its work was done.
///
/// The failing task is removed from the loop; the others stay pending, so the
/// caller may report the error and carry on with `run_forever`.
#[derive(Debug, Clone, PartialEq)]
pub enum LoopError {
    /// A task answered a guess the loop cannot wait for.
    BadGuess {
        /// The task that answered it.
        task: TaskId,
        /// What it answered.
        guess: f64,
        /// Which rule it broke.
        problem: GuessError,
    },
    /// A task panicked while it was being resumed.
    Panicked {
        /// The task that panicked.
        task: TaskId,
        /// The panic message, if it was a string.
        message: String,
    },
}

impl fmt::Display for LoopError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoopError::BadGuess {
                task,
                guess,
                problem,
            } => {
                let why = match problem {
                    GuessError::NotANumber => "is not a number",
                    GuessError::NotFinite => "is not finite",
                    GuessError::TooLong => {
                        "would wake it after the loop's clock runs out (about 584 years)"
                    }
                };
                let guess = short_number(*guess);
                write!(f, "{task} guessed {guess} seconds, which {why}")
            }
            LoopError::Panicked { task, message } => write!(f, "{task} panicked: {message}"),
        }
    }
}

impl std::error::Error for LoopError {}

/// A number for an error message: as Rust prints it, unless that would run to
/// a screenful of digits. `{}` never uses an exponent, so 1e300 would print
/// 301 digits; from 1e16 on an `f64` cannot even hold every whole number, so
/// those digits say nothing but "huge", and `1e300` says it better. Tiny
/// numbers get the same treatment from the other end.
fn short_number(x: f64) -> String {
    let size = x.abs();
    if size >= 1e16 || (size > 0.0 && size < 1e-4) {
        format!("{x:e}")
    } else {
        format!("{x}")
    }
}

struct Task<T> {
    id: TaskId,
    coroutine: Box<dyn Coroutine<Yield = f64, Output = T>>,
    /// The earliest time this task said it could make progress.
    due: Duration,
}

/// A loop that runs coroutines by resuming them all, round after round.
pub struct GuessingLoop<C, T> {
    clock: C,
    /// Tasks not yet complete, in creation order: the order of every round.
    pending: Vec<Task<T>>,
    /// Indexed by `TaskId`: `Some` once the task completed and until taken.
    results: Vec<Option<Completed<T>>>,
    /// Task ids in the order they completed, not yet drained.
    completion_order: Vec<TaskId>,
    /// The earliest time a task asked to be resumed at, in the last round.
    earliest_due: Option<Duration>,
    stats: Stats,
}

impl<C: Clock, T> GuessingLoop<C, T> {
    /// An empty loop that reads and sleeps on `clock`.
    pub fn new(clock: C) -> Self {
        Self {
            clock,
            pending: Vec::new(),
            results: Vec::new(),
            completion_order: Vec::new(),
            earliest_due: None,
            stats: Stats::default(),
        }
    }

    /// asyncio's `loop.time()`: the loop's clock.
    pub fn time(&self) -> Duration {
        self.clock.now()
    }

    /// What the loop has counted so far.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// How many tasks are not complete yet.
    pub fn pending_count(&self) -> usize {
        self.pending.len()
    }

    /// asyncio's `loop.create_task`: schedule a coroutine. It first runs in the
    /// next round; creating it runs nothing.
    pub fn create_task(
        &mut self,
        coroutine: impl Coroutine<Yield = f64, Output = T> + 'static,
    ) -> TaskId {
        let id = TaskId(self.results.len());
        self.results.push(None);
        self.pending.push(Task {
            id,
            coroutine: Box::new(coroutine),
            due: Duration::ZERO,
        });
        id
    }

    // ANCHOR: run_once
    /// One round: sleep until the earliest time a task asked for in the last
    /// round, then resume every pending task once, in creation order.
    ///
    /// Sleeping first, as asyncio's `_run_once` does, means a round that
    /// completes what the caller waited for returns at once.
    pub fn run_once(&mut self) -> Result<(), LoopError> {
        if let Some(due) = self.earliest_due.take() {
            let wait = due.saturating_sub(self.clock.now());
            if !wait.is_zero() {
                self.clock.sleep(wait);
                self.stats.slept += wait;
            }
        }
        self.stats.rounds += 1;
        let mut earliest_due: Option<Duration> = None;
        let mut failure = None;

        self.pending.retain_mut(|task| {
            if failure.is_some() {
                return true; // the round is over; keep the rest for later
            }
            let now = self.clock.now();
            self.stats.resumes += 1;
            if now < task.due {
                self.stats.early_resumes += 1;
            }
            match resume(task, now) {
                Outcome::Waiting => {
                    earliest_due = Some(earliest_due.map_or(task.due, |d| d.min(task.due)));
                    true
                }
                Outcome::Complete(value) => {
                    let (id, at) = (task.id, now);
                    self.results[id.0] = Some(Completed {
                        task: id,
                        at,
                        value,
                    });
                    self.completion_order.push(id);
                    false
                }
                Outcome::Failed(error) => {
                    failure = Some(error);
                    false
                }
            }
        });

        match failure {
            Some(error) => Err(error), // next round: no sleep, guesses are stale
            None => {
                self.earliest_due = earliest_due;
                Ok(())
            }
        }
    }
    // ANCHOR_END: run_once

    /// asyncio's `loop.run_forever`, for a loop that has nothing but tasks:
    /// rounds until no task is pending. (asyncio's would then wait for I/O or a
    /// call from another thread; stage 1 has neither, so waiting would be a
    /// dead loop and it returns instead.)
    pub fn run_forever(&mut self) -> Result<(), LoopError> {
        while !self.pending.is_empty() {
            self.run_once()?;
        }
        Ok(())
    }

    /// asyncio's `loop.run_until_complete`: run rounds until this coroutine is
    /// complete and return its value. Other tasks advance meanwhile and stay
    /// pending if they are not done by then.
    pub fn run_until_complete(
        &mut self,
        coroutine: impl Coroutine<Yield = f64, Output = T> + 'static,
    ) -> Result<T, LoopError> {
        let id = self.create_task(coroutine);
        loop {
            if let Some(done) = self.take_result(id) {
                return Ok(done.value);
            }
            self.run_once()?;
        }
    }

    /// `asyncio.gather` run to completion: one result per coroutine, in the
    /// order given, whatever order they completed in.
    pub fn gather<I, Co>(&mut self, coroutines: I) -> Result<Vec<T>, LoopError>
    where
        I: IntoIterator<Item = Co>,
        Co: Coroutine<Yield = f64, Output = T> + 'static,
    {
        let ids: Vec<TaskId> = coroutines
            .into_iter()
            .map(|c| self.create_task(c))
            .collect();
        while ids.iter().any(|&id| self.results[id.0].is_none()) {
            self.run_once()?;
        }
        Ok(ids
            .into_iter()
            .filter_map(|id| self.take_result(id))
            .map(|done| done.value)
            .collect())
    }

    /// Take a completed task's result; `None` if it is not complete (or was
    /// already taken).
    pub fn take_result(&mut self, id: TaskId) -> Option<Completed<T>> {
        self.results.get_mut(id.0)?.take()
    }

    /// Take every result not taken yet, in the order the tasks completed.
    pub fn drain_completed(&mut self) -> Vec<Completed<T>> {
        let order = std::mem::take(&mut self.completion_order);
        order
            .into_iter()
            .filter_map(|id| self.take_result(id))
            .collect()
    }
}

/// What one resume did to a task.
enum Outcome<T> {
    /// Not ready: `task.due` now says when it expects to be.
    Waiting,
    /// Done, with this value.
    Complete(T),
    /// Broke a rule or panicked; it must not be resumed again.
    Failed(LoopError),
}

// ANCHOR: resume
/// Resume one task and apply the guess rule to its answer. A panic inside the
/// task becomes an error that names it, instead of unwinding through the loop.
fn resume<T>(task: &mut Task<T>, now: Duration) -> Outcome<T> {
    let answer = catch_unwind(AssertUnwindSafe(|| task.coroutine.resume(now)));
    match answer {
        Ok(Step::Yielded(guess)) => match due_for_guess(now, guess) {
            Ok(due) => {
                task.due = due;
                Outcome::Waiting
            }
            Err(problem) => Outcome::Failed(LoopError::BadGuess {
                task: task.id,
                guess,
                problem,
            }),
        },
        Ok(Step::Complete(value)) => Outcome::Complete(value),
        Err(payload) => Outcome::Failed(LoopError::Panicked {
            task: task.id,
            message: panic_message(payload.as_ref()),
        }),
    }
}
// ANCHOR_END: resume

/// The text of a panic, if it had one. (Later stages report panics too.)
pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_string()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "(a panic payload that is not a string)".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::short_number;

    #[test]
    fn short_number_uses_an_exponent_only_for_huge_and_tiny_numbers() {
        let cases = [
            (1.5, "1.5"),
            (0.0, "0"),
            (-2.0, "-2"),
            (0.001, "0.001"),
            (1e11, "100000000000"),
            (1e15, "1000000000000000"),
            (1e16, "1e16"),
            (1e30, "1e30"),
            (-1e300, "-1e300"),
            (f64::MAX, "1.7976931348623157e308"),
            (1e-7, "1e-7"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
        ];
        for (x, printed) in cases {
            assert_eq!(short_number(x), printed, "{x:?}");
        }
    }
}
