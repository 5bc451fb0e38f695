//! The first timed loop of the Stack Overflow question "How does asyncio
//! enable parallel IO waits?": coroutines kept in a schedule by wake-up
//! time, and no callbacks at all.
//!
//! Mirrors no asyncio file: it is the step between stage 1's guessing loop and
//! `BaseEventLoop`. Pop the earliest `(wake time, coroutine)`, sleep until
//! then, resume it, and put it back if it yields another time. The schedule is
//! a type parameter, so the same loop runs on the naive [`SortedList`] and on
//! the [`Heap`] (`crate::schedule`). A panic in a coroutine is not caught
//! here: it ends the run, as an exception ends the Python loop.
//!
//! [`SortedList`]: crate::schedule::SortedList
//! [`Heap`]: crate::schedule::Heap

use std::time::Duration;

use stage01_generator_loop::{Clock, Coroutine, Step};

use crate::driver::SleepUntil;
use crate::schedule::Schedule;
use crate::seconds::{from_duration, wait_until};

/// One coroutine's result, and when it completed.
#[derive(Debug, Clone, PartialEq)]
pub struct Finished<T> {
    /// Its position in the list the loop was given.
    pub index: usize,
    /// The loop's clock when it completed.
    pub at: Duration,
    /// What it returned.
    pub value: T,
}

// ANCHOR: run
/// Run `coroutines` to completion on `clock`, keeping them in a schedule of
/// type `S`. Returns their results in the order they completed, and how many
/// resumes that took: never more than one per event, plus one to start.
pub fn run<C, S>(clock: &impl Clock, coroutines: Vec<C>) -> (Vec<Finished<C::Output>>, u64)
where
    C: Coroutine<Yield = SleepUntil>,
    S: Schedule<(usize, C)> + Default,
{
    let mut schedule = S::default();
    let start = from_duration(clock.now());
    for (index, coroutine) in coroutines.into_iter().enumerate() {
        schedule.push(start, (index, coroutine));
    }
    let (mut finished, mut resumes) = (Vec::new(), 0);
    while let Some((key, (index, mut coroutine))) = schedule.pop() {
        // A coroutine asleep for ever: nothing else can ever happen.
        let Some(wait) = wait_until(from_duration(clock.now()), key.when) else {
            break;
        };
        clock.sleep(wait);
        resumes += 1;
        match coroutine.resume(clock.now()) {
            Step::Yielded(SleepUntil(when)) => {
                schedule.push(when, (index, coroutine));
            }
            Step::Complete(value) => finished.push(Finished {
                index,
                at: clock.now(),
                value,
            }),
        }
    }
    (finished, resumes)
}
// ANCHOR_END: run
