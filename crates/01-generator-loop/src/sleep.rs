//! The smallest useful coroutine: sleep without blocking, by answering guesses.
//!
//! Mirrors the `sleep` generator of the toy loop in the blog post
//! "A little example of how Asyncio works", which in Python reads
//!
//! ```python
//! def sleep(duration):
//!     end = time.monotonic() + duration
//!     while (now := time.monotonic()) < end:
//!         yield end - now                  # "not ready, about this long left"
//!     return f"Sleep {duration} over"      # travels in StopIteration.value
//! ```
//!
//! A generator keeps `end` in its frame between resumes; here it is a field.

use std::time::Duration;

use crate::coroutine::{Coroutine, Step};

// ANCHOR: sleep
/// Sleep for `duration`, measured from the first resume.
#[derive(Debug, Clone)]
pub struct Sleep {
    duration: Duration,
    /// `None` until the first resume: like a generator, a `Sleep` does nothing
    /// until it is first run, so its clock starts then, not at construction.
    end: Option<Duration>,
}

impl Sleep {
    /// A coroutine that completes once `duration` has passed.
    pub fn new(duration: Duration) -> Self {
        Self {
            duration,
            end: None,
        }
    }
}

impl Coroutine for Sleep {
    type Yield = f64;
    type Output = String;

    fn resume(&mut self, now: Duration) -> Step<f64, String> {
        let end = *self.end.get_or_insert(now + self.duration);
        if now < end {
            Step::Yielded((end - now).as_secs_f64())
        } else {
            Step::Complete(format!("Sleep {} over", self.duration.as_secs_f64()))
        }
    }
}
// ANCHOR_END: sleep

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guesses_the_time_left_then_completes() {
        let mut sleep = Sleep::new(Duration::from_secs(3));
        let start = Duration::from_secs(10);
        assert_eq!(sleep.resume(start), Step::Yielded(3.0));
        assert_eq!(
            sleep.resume(start + Duration::from_secs(1)),
            Step::Yielded(2.0)
        );
        assert_eq!(
            sleep.resume(start + Duration::from_secs(3)),
            Step::Complete("Sleep 3 over".to_string())
        );
    }

    #[test]
    fn zero_sleep_completes_on_first_resume() {
        // Like the Python generator: `now < end` is false at once, so it never yields.
        let mut sleep = Sleep::new(Duration::ZERO);
        assert_eq!(
            sleep.resume(Duration::ZERO),
            Step::Complete("Sleep 0 over".into())
        );
    }

    #[test]
    fn fractional_durations_print_like_python_floats() {
        let mut sleep = Sleep::new(Duration::from_millis(250));
        sleep.resume(Duration::ZERO);
        assert_eq!(
            sleep.resume(Duration::from_secs(1)),
            Step::Complete("Sleep 0.25 over".into())
        );
    }
}
