//! Scenario 15 on real sockets on 127.0.0.1: the chunked response, read
//! by stage 6's own client and by curl. What the client gets, and in what
//! order, on the real clock; when it gets it, only on the virtual clock,
//! where the loop jumps from timer to timer and the times are exact.
//! Every case is bounded: a stage 5 timeout of ten seconds around it
//! turns a hang into a failure.

mod common;

use std::path::Path;
use std::process::Command;

use common::{any_port, bounded};
use demo_support::Transcript;
use demo_support::transcript::assert_matches_file;
use stage01_generator_loop::{RealClock, VirtualClock};
use stage02_timed_events::get_running_loop;
use stage03_read_readiness::SelectorEventLoop;
use stage04_futures_tasks::{FutureError, run_in_executor};
use stage05_cancellation::{create_task, gather};
use stage06_socket_io::open_connection;
use stage06_socket_io::scenarios::{
    Chunk, End, Received, WORKERS, chunked_response, get_chunked, serve_chunked, work_time,
};

/// A server ending each response as `end`, and one GET of it.
async fn serve_and_get(end: End) -> Result<Received, FutureError> {
    let server = serve_chunked(end, any_port(), &Transcript::new()).await?;
    let received = get_chunked(server.local_addr(), "/").await?;
    server.close();
    server.wait_closed().await?;
    Ok(received)
}

/// The chunks of a body, without their times.
fn data(received: &Received) -> Vec<&str> {
    received
        .chunks
        .iter()
        .map(|chunk| chunk.data.as_str())
        .collect()
}

/// "Start", each worker's number from 1, "End": the whole response.
fn whole() -> Vec<String> {
    let numbers = (1..=WORKERS).map(|n| n.to_string());
    let all = std::iter::once("Start".to_string()).chain(numbers);
    all.chain(std::iter::once("End".to_string())).collect()
}

fn committed(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/output")
        .join(name)
}

#[test]
fn scenario_15_prints_what_the_book_shows() {
    let out = Transcript::new();
    chunked_response(VirtualClock::new, &out).unwrap();
    let printed = out.lines().join("\n") + "\n";
    assert_matches_file(&committed("scenario-15.txt"), &printed);
}

#[test]
fn the_workers_finish_out_of_order() {
    let mut order: Vec<u32> = (1..=WORKERS).collect();
    order.sort_by(|a, b| work_time(*a).total_cmp(&work_time(*b)));
    assert_eq!(order, [2, 1, 4, 3, 6, 5, 8, 7, 10, 9]);
}

#[test]
fn the_right_handler_sends_every_chunk_in_order_then_end() {
    let received = bounded(RealClock::new(), serve_and_get(End::AfterAcknowledgement));
    assert_eq!(data(&received), whole());
    assert_eq!(received.body(), "Start12345678910End");
}

#[test]
fn ended_at_once_the_response_is_start_end() {
    // The handler never yields between "Start" and "End": no worker can
    // have reported, however fast the machine.
    let received = bounded(RealClock::new(), serve_and_get(End::AtOnce));
    assert_eq!(data(&received), ["Start", "End"]);
}

#[test]
fn each_client_gets_its_own_workers_and_the_whole_response() {
    let bodies = bounded(RealClock::new(), async {
        let server =
            serve_chunked(End::AfterAcknowledgement, any_port(), &Transcript::new()).await?;
        let address = server.local_addr();
        let event_loop = get_running_loop::<SelectorEventLoop>()?;
        let clients = (0..3)
            .map(|_| {
                create_task(&event_loop, async move {
                    Ok(get_chunked(address, "/").await?.body())
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let bodies: Vec<String> = gather(clients)?
            .await?
            .into_iter()
            .collect::<Result<_, _>>()?;
        server.close();
        server.wait_closed().await?;
        Ok(bodies)
    });
    assert_eq!(bodies, ["Start12345678910End"; 3]);
}

#[test]
fn on_the_virtual_clock_the_reports_come_in_pairs_and_end_comes_with_the_slowest_worker() {
    let received = bounded(
        VirtualClock::new(),
        serve_and_get(End::AfterAcknowledgement),
    );
    let at = |seconds: f64, data: &str| Chunk {
        at: seconds,
        data: data.to_string(),
    };
    // Worker 2 is done at 0.1 s, but reports after worker 1, at 0.2 s.
    let expected = [
        at(0.0, "Start"),
        at(0.2, "1"),
        at(0.2, "2"),
        at(0.4, "3"),
        at(0.4, "4"),
        at(0.6, "5"),
        at(0.6, "6"),
        at(0.8, "7"),
        at(0.8, "8"),
        at(1.0, "9"),
        at(1.0, "10"),
        at(1.0, "End"),
    ];
    assert_eq!(received.chunks.len(), expected.len());
    for (got, expected) in received.chunks.iter().zip(&expected) {
        assert_eq!(got.data, expected.data);
        assert!((got.at - expected.at).abs() < 1e-9, "{got:?}");
    }
    let slowest = (1..=WORKERS).map(work_time).fold(0.0, f64::max);
    assert!((received.ended_at - slowest).abs() < 1e-9);
}

#[test]
fn a_nap_is_wrong_both_ways() {
    // Too short: the reports made after it are lost.
    let short = bounded(VirtualClock::new(), serve_and_get(End::AfterSleeping(0.5)));
    assert_eq!(data(&short), ["Start", "1", "2", "3", "4", "End"]);
    assert!((short.ended_at - 0.5).abs() < 1e-9);
    // Long enough: the text is whole, and the client waits half a second
    // after the last report for nothing.
    let long = bounded(VirtualClock::new(), serve_and_get(End::AfterSleeping(1.5)));
    assert_eq!(data(&long), whole());
    assert!((long.ended_at - 1.5).abs() < 1e-9);
    assert!(
        (long.chunks[10].at - 1.0).abs() < 1e-9,
        "{:?}",
        long.chunks[10]
    );
}

#[test]
fn a_request_that_is_not_a_get_or_not_http_is_refused() {
    let answers = bounded(RealClock::new(), async {
        let server =
            serve_chunked(End::AfterAcknowledgement, any_port(), &Transcript::new()).await?;
        let mut answers = Vec::new();
        for request in ["POST / HTTP/1.1\r\n\r\n", "hello\r\n\r\n"] {
            let (reader, writer) = open_connection(server.local_addr()).await?;
            writer.write(request.as_bytes())?;
            let line = reader.readline().await?;
            answers.push(String::from_utf8_lossy(&line).trim_end().to_string());
        }
        server.close();
        server.wait_closed().await?;
        Ok(answers)
    });
    assert_eq!(
        answers,
        [
            "HTTP/1.1 405 Method Not Allowed",
            "HTTP/1.1 400 Bad Request"
        ]
    );
}

/// What curl printed, run in the loop's thread pool so that the loop
/// serves it meanwhile; `None` if curl is not installed.
fn curl(end: End) -> Option<String> {
    let installed = Command::new("curl").arg("--version").output();
    if installed.is_err() {
        eprintln!("curl is not installed: the test of curl is skipped");
        return None;
    }
    let printed = bounded(RealClock::new(), async move {
        let server = serve_chunked(end, any_port(), &Transcript::new()).await?;
        let url = format!("http://{}/", server.local_addr());
        let event_loop = get_running_loop::<SelectorEventLoop>()?;
        let ran = run_in_executor(&event_loop, None, move || {
            let ran = Command::new("curl")
                .args(["-N", "--silent", "--show-error", "--max-time", "8", &url])
                .output();
            ran.map(|output| (output.status.success(), output.stdout, output.stderr))
                .map_err(|error| error.to_string())
        })?;
        let (succeeded, stdout, stderr) = ran.await?.expect("curl runs");
        assert!(succeeded, "{}", String::from_utf8_lossy(&stderr));
        server.close();
        server.wait_closed().await?;
        Ok(String::from_utf8(stdout).expect("curl printed text"))
    });
    Some(printed)
}

#[test]
fn curl_reads_the_right_response_whole_and_the_wrong_one_start_end() {
    let Some(right) = curl(End::AfterAcknowledgement) else {
        return;
    };
    assert_matches_file(&committed("scenario-15-curl.txt"), &right);
    assert_eq!(right, "Start12345678910End");
    assert_eq!(curl(End::AtOnce).as_deref(), Some("StartEnd"));
}
