//! Scenario 17: parallel requests.
//!
//! From the parallel requests of tryexceptpass's "Threaded Asynchronous
//! Magic and How to Wield It", and the Stack Overflow question "How does
//! asyncio enable parallel IO waits?": fetch several URLs at once and
//! collect the first line of each. In asyncio that is
//! `asyncio.gather(*(fetch(url) for url in urls))`, each `fetch` an
//! `open_connection`, a request written, a `readline`. While one request
//! waits for its answer the loop serves the others, so all of them take
//! about as long as the slowest; one after another, they take the sum.
//!
//! The server is local, on the same loop, and answers each page after a
//! delay of its own, so the times are the server's and not a network's.
//! On the virtual clock they are exact.

use std::error::Error;
use std::net::SocketAddr;

use demo_support::{Mark, Timeline, Transcript};
use stage01_generator_loop::Clock;
use stage02_timed_events::{AbstractEventLoop, get_running_loop};
use stage03_read_readiness::SelectorEventLoop;
use stage04_futures_tasks::FutureError;
use stage05_cancellation::{Runner, Task, create_task, gather, sleep, wait_for};

use super::chunked::{BAD_REQUEST, GIVE_UP_AFTER, HttpError, answer, any_port, read_request};
use super::stamp;
use crate::EpollSelector;
use crate::server::{Server, start_server};
use crate::streams::{StreamError, StreamReader, StreamWriter, open_connection};

/// A page of the local server: where it is, and how long the server
/// takes to answer it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Page {
    /// Its path, such as `/slow`.
    pub path: &'static str,
    /// Seconds before the server answers.
    pub delay: f64,
}

/// The pages scenario 17 fetches, in the order it asks for them.
pub const PAGES: [Page; 3] = [
    Page {
        path: "/slow",
        delay: 0.3,
    },
    Page {
        path: "/fast",
        delay: 0.1,
    },
    Page {
        path: "/medium",
        delay: 0.2,
    },
];

/// How the pages are fetched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Every request at once, each in a task of its own; `gather` waits for
    /// them all.
    Concurrently,
    /// Each request in a task of its own, awaited before the next starts.
    OneByOne,
}

// ANCHOR: server
/// Listen on `address` and answer a GET of each of `pages` after its
/// delay, with a short text; any other path at once, with 404.
///
/// # Errors
/// As [`start_server`].
pub async fn serve_pages(
    pages: &'static [Page],
    address: SocketAddr,
) -> Result<Server, StreamError> {
    start_server(
        move |reader, writer| answer_page(pages, reader, writer),
        address,
    )
    .await
}

/// One connection: one request, one answer.
async fn answer_page(
    pages: &'static [Page],
    reader: StreamReader,
    writer: StreamWriter,
) -> Result<(), StreamError> {
    let request = match read_request(&reader).await {
        Ok(request) => request,
        Err(HttpError::Malformed(_)) => return answer(&writer, BAD_REQUEST).await,
        Err(HttpError::Stream(error)) => return Err(error),
    };
    let page = pages.iter().find(|page| page.path == request.target);
    let Some(page) = page.filter(|_| request.method == "GET") else {
        let missing = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        return answer(&writer, missing).await;
    };
    sleep(page.delay, ()).await.map_err(StreamError::Future)?; // the page's work
    let body = format!("{}, answered after {} s\n", page.path, page.delay);
    let response = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
    answer(&writer, response.as_bytes()).await
}
// ANCHOR_END: server

// ANCHOR: fetch
/// GET `path` from the server at `address`: the first line of the
/// response. The rest is read too, to the end the server makes.
///
/// # Errors
/// If the connection fails, or ends before a line.
pub async fn fetch_first_line(address: SocketAddr, path: &str) -> Result<String, StreamError> {
    let (reader, writer) = open_connection(address).await?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    writer.write(request.as_bytes())?;
    let line = reader.readline().await?;
    let _rest = reader.read_to_end().await?;
    Ok(String::from_utf8_lossy(&line).trim_end().to_string())
}
// ANCHOR_END: fetch

// ANCHOR: fetch_all
/// Fetch `pages` from `address` in `order`, each in a task named for its
/// request, saying each first line as it comes; the first lines, in the
/// order of `pages`.
///
/// # Errors
/// The first failed fetch's error; a cancellation.
pub async fn fetch_all(
    address: SocketAddr,
    pages: &[Page],
    order: Order,
    out: &Transcript,
) -> Result<Vec<String>, FutureError> {
    let event_loop = get_running_loop::<SelectorEventLoop>()?;
    let fetch = |page: &Page| -> Result<Task<String>, FutureError> {
        let (here, log, path) = (event_loop.clone(), out.clone(), page.path);
        let task = create_task(&event_loop, async move {
            let line = fetch_first_line(address, path).await?;
            stamp(&log, &here, &format!("GET {path}: {line}"));
            Ok(line)
        })?;
        task.set_name(format!("GET {path}"));
        Ok(task)
    };
    match order {
        Order::Concurrently => {
            let tasks = pages.iter().map(fetch).collect::<Result<Vec<_>, _>>()?;
            // Every task has started; `gather` waits for all of them.
            gather(tasks)?.await?.into_iter().collect()
        }
        Order::OneByOne => {
            let mut lines = Vec::new();
            for page in pages {
                lines.push(fetch(page)?.await?); // done before the next starts
            }
            Ok(lines)
        }
    }
}
// ANCHOR_END: fetch_all

/// Serve [`PAGES`] and fetch them in `order`, on one epoll loop on
/// `clock` run by a stage 5 [`Runner`], the loop's work recorded on
/// `timeline`; the time the fetches took, in seconds.
///
/// # Errors
/// If the loop cannot be had, or the server or a fetch fails, or the
/// fetches are not over after [`GIVE_UP_AFTER`] seconds.
pub fn fetch_pages(
    clock: impl Clock + 'static,
    order: Order,
    out: &Transcript,
    timeline: &Timeline,
) -> Result<f64, Box<dyn Error>> {
    let runner = Runner::with_selector(clock, EpollSelector::new()?)?;
    let event_loop = runner.get_loop().clone();
    let (out, timeline) = (out.clone(), timeline.clone());
    let fetches = async move {
        let server = serve_pages(&PAGES, any_port()).await?;
        event_loop.set_timeline(timeline);
        let start = event_loop.time();
        fetch_all(server.local_addr(), &PAGES, order, &out).await?;
        let took = event_loop.time() - start;
        server.close();
        server.wait_closed().await?;
        Ok(took)
    };
    let took = runner.run(wait_for(fetches, Some(GIVE_UP_AFTER)));
    let closed = runner.close();
    let took = took?;
    closed?;
    Ok(took)
}

/// Scenario 17: [`PAGES`] fetched concurrently, then one by one, each on
/// a fresh clock from `new_clock`, with the time each way took; and, if
/// `timelines`, each run drawn as a timeline.
///
/// # Errors
/// As [`fetch_pages`].
pub fn parallel_fetch<C: Clock + 'static>(
    new_clock: impl Fn() -> C,
    out: &Transcript,
    timelines: bool,
) -> Result<(), Box<dyn Error>> {
    out.say("Scenario 17: three pages from a local server, on one loop");
    let delays: Vec<String> = PAGES
        .iter()
        .map(|page| format!("{} after {} s", page.path, page.delay))
        .collect();
    out.say(format!("  the server answers {}", delays.join(", ")));
    let slowest = PAGES.iter().map(|page| page.delay).fold(0.0, f64::max);
    let sum: f64 = PAGES.iter().map(|page| page.delay).sum();
    for (order, how, compare) in [
        (
            Order::Concurrently,
            "Concurrently",
            format!("the slowest page alone takes {slowest:.1} s"),
        ),
        (
            Order::OneByOne,
            "One by one",
            format!("the delays add up to {sum:.1} s"),
        ),
    ] {
        out.say(format!("\n{how}:"));
        let timeline = Timeline::new();
        let took = fetch_pages(new_clock(), order, out, &timeline)?;
        let count = PAGES.len();
        out.say(format!(
            "        {count} responses in {took:.3} s; {compare}"
        ));
        if timelines {
            // A column for every hundredth of a second, in both pictures.
            let columns = (took * COLUMNS_PER_SECOND).round() as usize;
            out.say("");
            out.say(fetches_only(&timeline).render_text(columns));
        }
    }
    Ok(())
}

/// How many columns of a timeline stand for a second.
const COLUMNS_PER_SECOND: f64 = 100.0;

/// What the picture of a run shows of its `recorded` timeline: the fetch
/// tasks' rows and the loop's sleeps. The server's tasks are left out
/// (they are named by number, in the order the whole process made
/// tasks), and so is the row of futures done.
fn fetches_only(recorded: &Timeline) -> Timeline {
    let shown = Timeline::new();
    for (at, mark) in recorded.marks() {
        let keep = match &mark {
            Mark::Slept { .. } => true,
            Mark::Resumed { task } | Mark::Completed { task } => task.starts_with("GET "),
            Mark::Event { .. } => false,
        };
        if keep {
            shown.record(at, mark);
        }
    }
    shown
}
