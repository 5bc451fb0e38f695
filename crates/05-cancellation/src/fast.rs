//! Making it fast: cancellation's awaits with less in between.
//!
//! The same API as the textbook modules, built for speed beside them, which
//! stay as they are. The `fast` feature (which also turns on stage 4's
//! fast tasks) makes these the crate's own, so that every test of the crate
//! runs on them too (`just test-fast`); chapter 5's "Making it fast"
//! tells what each piece saves, with the numbers.
//!
//! | module | what it changes |
//! |---|---|
//! | `sleep` | a sleep that is a timer waking the task, with no future between |
//! | `timeouts` | a timeout scope that sets its timer once its block waits; 3.12's `wait_for`, a scope around an await |

mod sleep;
mod timeouts;

pub use sleep::sleep;
pub use timeouts::{Timeout, timeout, timeout_at, wait_for};
