//! Scenario 17 on real sockets on 127.0.0.1: pages fetched from a local
//! server on the same loop, at once and one by one. What each fetch
//! answers on the real clock; when, and how long all of them take, only on
//! the virtual clock, where the loop jumps from timer to timer and the
//! times are exact. Every case is bounded: a stage 5 timeout of ten
//! seconds around it turns a hang into a failure.

mod common;

use std::path::Path;

use common::{any_port, bounded};
use demo_support::transcript::assert_matches_file;
use demo_support::{Mark, Timeline, Transcript};
use stage01_generator_loop::{RealClock, VirtualClock};
use stage04_futures_tasks::FutureError;
use stage06_socket_io::scenarios::{
    Order, PAGES, Page, fetch_all, fetch_first_line, fetch_pages, parallel_fetch, serve_pages,
};

/// Serve [`PAGES`], fetch them in `order`, and close the server; the
/// first lines, and what was said as they came.
async fn serve_and_fetch(order: Order) -> Result<(Vec<String>, Vec<String>), FutureError> {
    let server = serve_pages(&PAGES, any_port()).await?;
    let out = Transcript::new();
    let lines = fetch_all(server.local_addr(), &PAGES, order, &out).await?;
    server.close();
    server.wait_closed().await?;
    Ok((lines, out.lines()))
}

/// Each line of `said` as (time, text): `" 0.100  GET /fast: ..."`.
fn stamped(said: &[String]) -> Vec<(f64, &str)> {
    said.iter()
        .map(|line| {
            let (time, text) = line.trim_start().split_once("  ").unwrap();
            (time.parse().unwrap(), text)
        })
        .collect()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[test]
fn scenario_17_prints_what_the_book_shows() {
    let out = Transcript::new();
    parallel_fetch(VirtualClock::new, &out, true).unwrap();
    let printed = out.lines().join("\n") + "\n";
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/output/scenario-17.txt");
    assert_matches_file(&committed, &printed);
}

#[test]
fn every_fetch_answers_with_its_first_line_in_the_order_asked_for() {
    for order in [Order::Concurrently, Order::OneByOne] {
        let (lines, said) = bounded(RealClock::new(), serve_and_fetch(order));
        assert_eq!(lines, ["HTTP/1.1 200 OK"; 3], "{order:?}");
        let mut paths: Vec<&str> = stamped(&said)
            .into_iter()
            .map(|(_, text)| text.split(':').next().unwrap())
            .collect();
        if order == Order::Concurrently {
            paths.sort_unstable(); // they come as the server answers
        }
        let expected = match order {
            Order::Concurrently => ["GET /fast", "GET /medium", "GET /slow"],
            Order::OneByOne => ["GET /slow", "GET /fast", "GET /medium"],
        };
        assert_eq!(paths, expected, "{order:?}");
    }
}

#[test]
fn a_path_the_server_does_not_have_is_not_found() {
    let line = bounded(VirtualClock::new(), async {
        let server = serve_pages(&PAGES, any_port()).await?;
        let line = fetch_first_line(server.local_addr(), "/nowhere").await?;
        server.close();
        server.wait_closed().await?;
        Ok(line)
    });
    assert_eq!(line, "HTTP/1.1 404 Not Found");
}

#[test]
fn at_once_each_answer_comes_after_its_own_delay_and_all_take_the_slowest() {
    let (_, said) = bounded(VirtualClock::new(), serve_and_fetch(Order::Concurrently));
    let expected = [
        (0.1, "GET /fast: HTTP/1.1 200 OK"),
        (0.2, "GET /medium: HTTP/1.1 200 OK"),
        (0.3, "GET /slow: HTTP/1.1 200 OK"),
    ];
    let got = stamped(&said);
    assert_eq!(got.len(), expected.len(), "{said:?}");
    for ((at, text), (expected_at, expected_text)) in got.into_iter().zip(expected) {
        assert_eq!(text, expected_text);
        assert!(close(at, expected_at), "{text} at {at}");
    }
}

#[test]
fn the_total_is_the_slowest_delay_at_once_and_the_sum_one_by_one() {
    let delays = PAGES.map(|page: Page| page.delay);
    let slowest = delays.iter().copied().fold(0.0, f64::max);
    let sum: f64 = delays.iter().sum();
    let out = Transcript::new();
    let at_once = fetch_pages(
        VirtualClock::new(),
        Order::Concurrently,
        &out,
        &Timeline::new(),
    );
    let one_by_one = fetch_pages(VirtualClock::new(), Order::OneByOne, &out, &Timeline::new());
    let (at_once, one_by_one) = (at_once.unwrap(), one_by_one.unwrap());
    assert!(close(at_once, slowest), "{at_once}");
    assert!(close(one_by_one, sum), "{one_by_one}");
    assert!(close(at_once, 0.3) && close(one_by_one, 0.6));
}

#[test]
fn the_timeline_shows_the_fetches_overlapping_or_one_after_another() {
    // When each fetch task was first resumed and when it completed.
    let spans = |order| {
        let timeline = Timeline::new();
        fetch_pages(VirtualClock::new(), order, &Transcript::new(), &timeline).unwrap();
        let marks = timeline.marks();
        let at = |wanted: &dyn Fn(&Mark) -> bool| {
            let (at, _) = marks.iter().find(|(_, mark)| wanted(mark)).unwrap();
            *at as f64 / 1e9
        };
        PAGES.map(|page| {
            let task = format!("GET {}", page.path);
            let started = at(&|mark| matches!(mark, Mark::Resumed { task: t } if *t == task));
            let ended = at(&|mark| matches!(mark, Mark::Completed { task: t } if *t == task));
            (started, ended)
        })
    };
    // slow, fast, medium: all start at 0 and end after their delays...
    let at_once = spans(Order::Concurrently);
    for ((started, ended), page) in at_once.into_iter().zip(PAGES) {
        assert!(close(started, 0.0) && close(ended, page.delay), "{page:?}");
    }
    // ...or each starts when the one before it has ended.
    let one_by_one = spans(Order::OneByOne);
    let mut start = 0.0;
    for ((started, ended), page) in one_by_one.into_iter().zip(PAGES) {
        assert!(close(started, start), "{page:?} started at {started}");
        assert!(
            close(ended, start + page.delay),
            "{page:?} ended at {ended}"
        );
        start = ended;
    }
}
