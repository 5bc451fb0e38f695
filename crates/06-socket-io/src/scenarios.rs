//! The stage 6 scenarios: functions the demo, the tests and the book all
//! run. Each writes what it prints to a [`Transcript`].

mod echo;
mod interleaved;

pub use echo::{
    Echo, IDLE_FAREWELL, SHUTDOWN_FAREWELL, echo_bytes, echo_client, handle_client, serve,
};
pub use interleaved::{SLEEPER_TICKS, interleaved_reads};

use demo_support::Transcript;
use stage02_timed_events::AbstractEventLoop;
use stage03_read_readiness::SelectorEventLoop;

/// Say `text` at the loop's time.
fn stamp(out: &Transcript, event_loop: &SelectorEventLoop, text: &str) {
    out.say(format!("{:6.3}  {text}", event_loop.time()));
}

mod chunked;

pub use chunked::{
    Chunk, End, GIVE_UP_AFTER, HttpError, Received, Request, WORKERS, chunked_response,
    get_chunked, read_request, receive, serve_chunked, work_time,
};

mod fetch;

pub use fetch::{
    Order, PAGES, Page, fetch_all, fetch_first_line, fetch_pages, parallel_fetch, serve_pages,
};

pub mod load;
