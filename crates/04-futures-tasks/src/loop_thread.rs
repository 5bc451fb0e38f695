//! A loop that runs for ever in a thread of its own.
//!
//! asyncio's users make one with `threading.Thread(target=loop.run_forever)`
//! and stop it with `loop.call_soon_threadsafe(loop.stop)` and `join()`.
//! A Rust loop is not `Send`, so it cannot be made here and moved there: the
//! thread makes it, and sends back its [`Remote`], which is all the other
//! threads need (`call_soon_threadsafe`, `run_coroutine_threadsafe`).
//! asyncio's debug mode catches a loop touched from the wrong thread when
//! it happens; here it does not compile:
//!
//! ```compile_fail,E0277
//! # use stage01_generator_loop::VirtualClock;
//! # use stage02_timed_events::AbstractEventLoop;
//! # use stage03_read_readiness::{PollSelector, SelectorEventLoop, SelectorEvents};
//! let event_loop =
//!     SelectorEventLoop::with_selector(VirtualClock::new(), PollSelector::new()).unwrap();
//! // error[E0277]: `Rc<..>` cannot be sent between threads safely
//! std::thread::spawn(move || event_loop.stop());
//! ```

use std::io;
use std::sync::mpsc;
use std::thread::{self, JoinHandle};

use stage01_generator_loop::Clock;
use stage02_timed_events::{AbstractEventLoop, LoopError};
use stage03_read_readiness::{PollSelector, Remote, SelectorEventLoop, SelectorEvents};

// ANCHOR: loop_thread
/// A selector loop running for ever in a worker thread.
pub struct LoopThread {
    remote: Remote<SelectorEventLoop>,
    thread: Option<JoinHandle<Result<(), LoopError>>>,
}

impl LoopThread {
    /// Start a thread that makes a loop on `clock`, and runs it until
    /// [`stop`](Self::stop).
    pub fn spawn(clock: impl Clock + Send + 'static) -> io::Result<Self> {
        let (send_remote, remote) = mpsc::channel();
        let thread = thread::Builder::new()
            .name("asyncio-loop".to_string())
            .spawn(move || {
                let event_loop = SelectorEventLoop::with_selector(clock, PollSelector::new())
                    .map_err(|error| LoopError::Poll(io::Error::other(error)))?;
                // The receiver waits below; if it is gone, so is the caller.
                let _ = send_remote.send(event_loop.remote()?);
                event_loop.run_forever()
                // The loop, its owner, is dropped here: closed, in its thread.
            })?;
        match remote.recv() {
            Ok(remote) => Ok(Self {
                remote,
                thread: Some(thread),
            }),
            Err(_) => Err(match thread.join() {
                Ok(Err(error)) => io::Error::other(error),
                _ => io::Error::other("the loop thread ended before its loop ran"),
            }),
        }
    }

    /// What other threads hand the loop work through.
    pub fn remote(&self) -> &Remote<SelectorEventLoop> {
        &self.remote
    }

    /// Stop the loop and wait for its thread: every callback handed to it
    /// before this runs first (the self-pipe is first-in, first-out), then
    /// the loop stops, closes, and drops what is still pending.
    pub fn stop(mut self) -> Result<(), LoopError> {
        self.stop_and_join()
    }

    fn stop_and_join(&mut self) -> Result<(), LoopError> {
        let Some(thread) = self.thread.take() else {
            return Ok(());
        };
        // Closed already means it stopped already: join all the same.
        let _ = self
            .remote
            .call_soon_threadsafe(|event_loop| event_loop.stop());
        thread.join().unwrap_or_else(|_| {
            Err(LoopError::Poll(io::Error::other(
                "the loop thread panicked",
            )))
        })
    }
}

/// Dropping the last handle stops the loop and waits for it, as `stop`.
impl Drop for LoopThread {
    fn drop(&mut self) {
        let _ = self.stop_and_join();
    }
}
// ANCHOR_END: loop_thread
