//! Scenario 15: don't synchronise by timing.
//!
//! A handler streams a chunked HTTP response: "Start", the ten chunks that
//! workers make, "End". It must not end the response before the last chunk
//! is in. Ending it at once gives "StartEnd"; the usual patch, sleeping
//! "long enough" first, is a guess that is wrong both ways: too short for
//! slow workers, whose chunks are lost, too long for fast ones, whose client
//! waits for nothing. What works is an acknowledgement that travels behind
//! the work: the workers' chunks, then an end marker, on one first-in,
//! first-out [`Queue`], so that the handler takes the marker off only after
//! every chunk.
//!
//! The workers run at once, so they finish in any order; each chunk carries
//! its number, and the handler writes it only after those before it. (One
//! worker making the chunks one after another would need no numbers, but
//! would take the sum of the work times instead of the longest.)

use std::cell::{Cell, RefCell};
use std::collections::BTreeSet;
use std::fmt;
use std::rc::Rc;

use demo_support::Transcript;
use stage01_generator_loop::Clock;
use stage02_timed_events::{AbstractEventLoop, LoopError};
use stage03_read_readiness::SelectorEventLoop;

use super::new_loop;
use crate::gather::gather_return_exceptions;
use crate::queues::Queue;
use crate::runners::{RunError, run_until_complete};
use crate::sleep::sleep;
use crate::{Task, create_task};

/// How many chunks the demo's workers make, numbered from 1.
pub const CHUNKS: u32 = 10;

/// The sleeping handler's guess, in seconds: the fast workers take 1 s,
/// and half a second more looked like a safe margin.
pub const NAP: f64 = 1.5;

// ANCHOR: message
/// What travels on the queue from the workers to the handler.
enum Message {
    /// Chunk `n` is made. The workers share the queue, so chunks arrive in
    /// the order the workers finish; the number puts them back in order.
    Chunk(u32),
    /// The acknowledgement: every worker has put its chunk.
    Done,
}
// ANCHOR_END: message

// ANCHOR: handle
/// How the handler knows that the response is complete.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum End {
    /// It takes the acknowledgement off the queue, behind the chunks.
    AfterAcknowledgement,
    /// It sleeps this many seconds, "long enough".
    AfterSleeping(f64),
}

/// The handler: "Start", the chunks as they come off the queue, "End";
/// evaluates to the loop's time at the end.
async fn handle(
    event_loop: SelectorEventLoop,
    delays: Vec<f64>,
    end: End,
    response: Response,
) -> Result<f64, LoopError> {
    response.write("Start");
    let queue = Queue::new(0);
    let workers = start_workers(&event_loop, &delays, &queue)?;
    match end {
        End::AfterAcknowledgement => {
            create_task(&event_loop, acknowledge(workers, queue.clone()))?;
            write_chunks(queue, response.clone()).await;
        }
        End::AfterSleeping(nap) => {
            // While it sleeps the handler takes nothing off the queue: a
            // task of its own writes the chunks meanwhile.
            create_task(&event_loop, write_chunks(queue, response.clone()))?;
            sleep(nap, ()).await;
        }
    }
    response.write("End");
    Ok(event_loop.time())
}
// ANCHOR_END: handle

// ANCHOR: acknowledge
/// Each worker put its chunk before it finished, so once all of them have
/// finished, every chunk is on the queue, and the marker goes in behind
/// the last.
async fn acknowledge(workers: Vec<Task<()>>, queue: Queue<Message>) {
    // Every worker, even after one fails: `gather` would answer at the
    // first failure, and the marker could overtake a slower worker's chunk.
    gather_return_exceptions(workers).await;
    let _put = queue.put(Message::Done).await; // fails only if cancelled
}
// ANCHOR_END: acknowledge

// ANCHOR: workers
/// One worker per delay: the `n`th makes chunk `n` in that many seconds,
/// and puts it on `queue`.
fn start_workers(
    event_loop: &SelectorEventLoop,
    delays: &[f64],
    queue: &Queue<Message>,
) -> Result<Vec<Task<()>>, LoopError> {
    (1..)
        .zip(delays)
        .map(|(n, &delay)| {
            let queue = queue.clone();
            create_task(event_loop, async move {
                sleep(delay, ()).await;
                // Only a cancelled worker (stage 5) fails to put its chunk.
                let _put = queue.put(Message::Chunk(n)).await;
            })
        })
        .collect()
}

/// Write the chunks in order as they come off `queue`, until the
/// acknowledgement: a chunk that comes early waits for those before it.
async fn write_chunks(queue: Queue<Message>, response: Response) {
    let (mut next, mut early) = (1, BTreeSet::new());
    while let Ok(Message::Chunk(n)) = queue.get().await {
        early.insert(n);
        while early.remove(&next) {
            response.write(&next.to_string());
            next += 1;
        }
    }
}
// ANCHOR_END: workers

/// The response as its client receives it. Clones are the same response.
#[derive(Clone, Default)]
struct Response(Rc<RefCell<String>>);

impl Response {
    fn write(&self, text: &str) {
        self.0.borrow_mut().push_str(text);
    }
}

/// What the client received, and when the handler ended the response.
#[derive(Debug, Clone, PartialEq)]
pub struct Received {
    /// Everything written, "End" last.
    pub body: String,
    /// The loop's time at "End", in seconds.
    pub ended_at: f64,
    /// Workers still at work when the loop closed, each reported "Task was
    /// destroyed but it is pending!".
    pub left_pending: usize,
}

// ANCHOR: serve
/// Serve one response on a loop on `clock`: chunk `n` made by a worker
/// that takes `delays[n - 1]` seconds, the end as `end` says.
pub fn serve(clock: impl Clock + 'static, delays: &[f64], end: End) -> Result<Received, RunError> {
    let event_loop = new_loop(clock)?;
    let left_pending = Rc::new(Cell::new(0));
    let count = Rc::clone(&left_pending);
    event_loop.set_exception_handler(move |_, report| {
        if report.message == "Task was destroyed but it is pending!" {
            count.set(count.get() + 1);
        } else {
            eprintln!("{report}");
        }
    });
    let response = Response::default();
    let handler = handle(event_loop.clone(), delays.to_vec(), end, response.clone());
    let ended_at = run_until_complete(&event_loop, handler)?.map_err(RunError::Loop)?;
    // The response is over, and the connection with it: workers still at
    // work go with the loop, and their chunks never reach the client.
    event_loop.close().map_err(RunError::Loop)?;
    let body = response.0.take();
    Ok(Received {
        body,
        ended_at,
        left_pending: left_pending.get(),
    })
}
// ANCHOR_END: serve

/// The delays of [`CHUNKS`] workers: chunk `n` takes `seconds(n)`.
pub fn delays(seconds: impl FnMut(u32) -> f64) -> Vec<f64> {
    (1..=CHUNKS).map(seconds).collect()
}

/// Scenario 15: one response from fast, slow and reversed workers, ended
/// by the acknowledgement, then by sleeping [`NAP`] seconds; each on a
/// fresh clock from `new_clock`.
pub fn chunked_response<C: Clock + 'static>(
    new_clock: impl Fn() -> C,
    out: &Transcript,
) -> Result<(), RunError> {
    out.say("Scenario 15: a chunked response from ten workers, ended two ways");
    out.say("  chunk n takes n/10 s (fast), n/5 s (slow) or (11-n)/5 s (reversed)");
    let workers = [
        ("fast", delays(|n| f64::from(n) / 10.0)),
        ("slow", delays(|n| f64::from(n) / 5.0)),
        ("reversed", delays(|n| f64::from(CHUNKS + 1 - n) / 5.0)),
    ];
    for end in [End::AfterAcknowledgement, End::AfterSleeping(NAP)] {
        for (speed, delays) in &workers {
            let received = serve(new_clock(), delays, end)?;
            let left = match received.left_pending {
                0 => String::new(),
                n => format!(", {n} left pending"),
            };
            out.say(format!(
                "  {:<37} {:<20} ended at {:.3} s{left}",
                format!("{end}, {speed}:"),
                received.body,
                received.ended_at
            ));
        }
    }
    Ok(())
}

impl fmt::Display for End {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            End::AfterAcknowledgement => write!(f, "after the acknowledgement"),
            End::AfterSleeping(nap) => write!(f, "after sleeping {nap} s"),
        }
    }
}
