//! Streams on real sockets on 127.0.0.1, on the epoll loop: what each call
//! answers, and in what order things happen; never how long they take.
//! Every case is bounded: a stage 5 timeout of ten seconds around it turns
//! a hang into a failure. Where a case must wait for the kernel (bytes to
//! arrive, a buffer to fill), it yields to the loop until it sees so.

mod common;

use std::cell::RefCell;
use std::io::ErrorKind;
use std::net::Shutdown;
use std::rc::Rc;

use common::{any_port, listener};
use mio::net::TcpStream;
use stage01_generator_loop::RealClock;
use stage03_read_readiness::{SelectorEventLoop, SelectorEvents};
use stage04_futures_tasks::FutureError;
use stage05_cancellation::{Task, create_task};
use stage06_socket_io::{
    DEFAULT_LIMIT, EpollSelector, HIGH_WATER, StreamError, StreamReader, StreamWriter,
    TransportError, open_connection, open_connection_with_limit, sock_accept, sock_recv,
    sock_sendall, start_server,
};

/// What a case's body is: a coroutine on the loop it is handed.
type Case<T> = common::Case<T, StreamError>;

/// Run `main` on a new epoll loop, bounded (see `common::run`), in this
/// file's error.
fn run<T: 'static>(main: impl FnOnce(SelectorEventLoop) -> Case<T>) -> Result<T, StreamError> {
    common::run(main)
}

/// A stream connection, and the raw socket at its other end, which the
/// case drives by hand (`sock_sendall`, `sock_recv`, or not reading).
async fn stream_and_raw_peer(
    event_loop: &SelectorEventLoop,
    limit: usize,
) -> Result<(StreamReader, StreamWriter, Rc<TcpStream>), StreamError> {
    let (listener, address) = listener();
    let (reader, writer) = open_connection_with_limit(address, limit).await?;
    let (peer, _) = sock_accept(event_loop, &listener).await?;
    Ok((reader, writer, Rc::new(peer)))
}

/// Yield until `done` says so, in this file's error.
async fn until(done: impl FnMut() -> bool) -> Result<(), StreamError> {
    common::until(done).await.map_err(StreamError::Future)
}

/// A few turns of the loop, in this file's error.
async fn turns(count: usize) -> Result<(), StreamError> {
    common::turns(count).await.map_err(StreamError::Future)
}

/// What a task of [`spawn`] ends with, kept where its only reader takes it
/// (awaiting a task copies its value, and a stream error has no copy).
type Kept<T> = Rc<RefCell<Option<T>>>;

/// `body` as a stage 5 task of its own, its stream errors kept as values.
fn spawn<T: 'static>(
    event_loop: &SelectorEventLoop,
    body: impl std::future::Future<Output = Result<T, StreamError>> + 'static,
) -> Task<Kept<Result<T, StreamError>>> {
    create_task(event_loop, async move {
        Ok(Rc::new(RefCell::new(Some(body.await))))
    })
    .unwrap()
}

/// `body` as a stage 5 task whose stream errors are its exceptions, so
/// that a cancellation inside ends it cancelled.
fn spawn_cancellable<T: 'static>(
    event_loop: &SelectorEventLoop,
    body: impl std::future::Future<Output = Result<T, StreamError>> + 'static,
) -> Task<T> {
    create_task(event_loop, async move { Ok(body.await?) }).unwrap()
}

/// What a task of [`spawn`] ended with; its failure as the case's error.
async fn outcome<T: 'static>(task: Task<Kept<T>>) -> Result<T, StreamError> {
    let kept = task.await.map_err(StreamError::Future)?;
    let taken = kept.borrow_mut().take();
    Ok(taken.expect("read once"))
}

/// `count` bytes of a pattern that shows a byte lost, doubled or moved.
fn pattern(count: usize) -> Vec<u8> {
    (0..count).map(|i| (i % 251) as u8).collect()
}

/// Read from the raw peer until `count` bytes came.
async fn recv_exactly(
    event_loop: &SelectorEventLoop,
    peer: &Rc<TcpStream>,
    count: usize,
) -> Result<Vec<u8>, StreamError> {
    let mut got = Vec::with_capacity(count);
    while got.len() < count {
        let chunk = sock_recv(event_loop, peer, 256 * 1024).await?;
        assert!(
            !chunk.is_empty(),
            "the stream ended after {} bytes",
            got.len()
        );
        got.extend(chunk);
    }
    Ok(got)
}

/// Close `peer` so that the kernel resets the connection: with bytes
/// still unread in its receive buffer, `close(2)` sends a reset, not an
/// end of file. `unread` is what this side sent it, which the kernel
/// must have delivered first.
async fn reset_by_closing_unread(peer: Rc<TcpStream>, unread: usize) -> Result<(), StreamError> {
    let mut look = vec![0; unread];
    until(|| peer.peek(&mut look).is_ok_and(|count| count == unread)).await?;
    drop(Rc::try_unwrap(peer).expect("the case holds the only handle"));
    Ok(())
}

#[test]
fn a_server_runs_each_connection_in_a_task_of_its_own_and_answers_lines_in_order() {
    let got = run(|_event_loop| {
        Box::pin(async move {
            // An echo server: each line back, until the end of the stream.
            let server = start_server(
                |reader: StreamReader, writer: StreamWriter| async move {
                    loop {
                        let line = reader.readline().await?;
                        if line.is_empty() {
                            return Ok(());
                        }
                        writer.write(&[b"echo: ", &line[..]].concat())?;
                        writer.drain().await?;
                    }
                },
                any_port(),
            )
            .await?;
            let (a_reader, a_writer) = open_connection(server.local_addr()).await?;
            let (b_reader, b_writer) = open_connection(server.local_addr()).await?;
            assert_eq!(a_writer.peer_addr(), Some(server.local_addr()));
            let mut answers = Vec::new();
            // While A's task waits for A's second line, B is served.
            a_writer.write(b"a1\n")?;
            answers.push(a_reader.readline().await?);
            b_writer.write(b"b1\nb2\n")?;
            answers.push(b_reader.readline().await?);
            answers.push(b_reader.readline().await?);
            a_writer.write(b"a2\n")?;
            answers.push(a_reader.readline().await?);
            // Each end: its server task returns, and closes its side.
            a_writer.write_eof()?;
            b_writer.write_eof()?;
            answers.push(a_reader.read_to_end().await?);
            answers.push(b_reader.read_to_end().await?);
            server.close();
            server.wait_closed().await?;
            Ok((answers, server.is_serving()))
        })
    });
    let (answers, serving) = got.unwrap();
    let expected: [&[u8]; 6] = [
        b"echo: a1\n",
        b"echo: b1\n",
        b"echo: b2\n",
        b"echo: a2\n",
        b"",
        b"",
    ];
    assert_eq!(answers, expected);
    assert!(!serving);
}

#[test]
fn readexactly_past_the_end_fails_with_the_partial_bytes() {
    let got = run(|event_loop| {
        Box::pin(async move {
            let (reader, _writer, peer) = stream_and_raw_peer(&event_loop, DEFAULT_LIMIT).await?;
            sock_sendall(&event_loop, &peer, b"abc").await?;
            peer.shutdown(Shutdown::Write).unwrap();
            let short = reader.readexactly(5).await;
            Ok((short, reader.at_eof()))
        })
    });
    let (short, at_eof) = got.unwrap();
    match short {
        Err(StreamError::IncompleteRead { partial, expected }) => {
            assert_eq!((partial, expected), (b"abc".to_vec(), Some(5)));
        }
        other => panic!("expected IncompleteRead, got {other:?}"),
    }
    assert!(at_eof, "the partial bytes left the buffer with the error");
}

#[test]
fn readuntil_and_readline_stop_at_the_separator_and_the_end_gives_what_is_left() {
    let got = run(|event_loop| {
        Box::pin(async move {
            let (reader, _writer, peer) = stream_and_raw_peer(&event_loop, DEFAULT_LIMIT).await?;
            sock_sendall(&event_loop, &peer, b"one\r\ntwo\r\nthree").await?;
            peer.shutdown(Shutdown::Write).unwrap();
            let empty = reader.readuntil(b"").await;
            Ok(vec![
                reader.readuntil(b"\r\n").await?,
                reader.readuntil(b"\r\n").await?,
                reader.readline().await?, // the end: what is left
                reader.readline().await?, // then nothing
                format!("{empty:?}").into_bytes(),
            ])
        })
    });
    let lines = got.unwrap();
    assert_eq!(&lines[..4], [&b"one\r\n"[..], b"two\r\n", b"three", b""]);
    let empty = String::from_utf8_lossy(&lines[4]);
    assert!(empty.contains("InvalidArgument"), "{empty}");
    let event_loop =
        SelectorEventLoop::with_selector(RealClock::new(), EpollSelector::new().unwrap()).unwrap();
    assert!(matches!(
        StreamReader::with_limit(&event_loop, 0),
        Err(StreamError::InvalidArgument(_))
    ));
}

#[test]
fn a_peer_that_resets_ends_a_pending_read_with_a_reset_error_and_every_read_and_write_after() {
    let got = run(|event_loop| {
        Box::pin(async move {
            let (reader, writer, peer) = stream_and_raw_peer(&event_loop, DEFAULT_LIMIT).await?;
            writer.write(b"never read")?;
            let reading = reader.clone();
            let read = spawn(&event_loop, async move { reading.readline().await });
            turns(3).await?;
            assert!(!read.done(), "the read waits for a line");
            reset_by_closing_unread(peer, 10).await?;
            let pending = outcome(read).await?.map_err(|error| error.kind());
            let after = reader.read(8).await.map_err(|error| error.kind());
            let write = writer.write(b"anyone?").map_err(|error| error.kind());
            Ok((pending, after, write))
        })
    });
    let (pending, after, write) = got.unwrap();
    let reset = Some(ErrorKind::ConnectionReset);
    assert_eq!(
        (pending, after, write),
        (Err(reset), Err(reset), Err(reset))
    );
}

#[test]
fn after_the_peers_write_eof_read_to_end_gets_everything_and_the_other_way_still_works() {
    // More than twice the limit, so that the server's reader pauses its
    // transport and resumes it as it reads.
    const SIZE: usize = 5 * DEFAULT_LIMIT;
    let got = run(|_event_loop| {
        Box::pin(async move {
            let server = start_server(
                |reader: StreamReader, writer: StreamWriter| async move {
                    let all = reader.read_to_end().await?;
                    writer.write(format!("{} bytes, then: ", all.len()).as_bytes())?;
                    writer.write(&all)?;
                    writer.drain().await?;
                    writer.close();
                    writer.wait_closed().await
                },
                any_port(),
            )
            .await?;
            let (reader, writer) = open_connection(server.local_addr()).await?;
            assert!(writer.can_write_eof());
            writer.write(&pattern(SIZE))?;
            writer.drain().await?;
            writer.write_eof()?;
            let answer = reader.read_to_end().await?;
            server.close();
            server.wait_closed().await?;
            Ok(answer)
        })
    });
    let mut expected = format!("{SIZE} bytes, then: ").into_bytes();
    expected.extend(pattern(SIZE));
    assert!(got.unwrap() == expected, "everything, in order, and back");
}

#[test]
fn writing_to_a_peer_that_has_gone_fails_at_write_or_drain_with_a_typed_error() {
    let got = run(|event_loop| {
        Box::pin(async move {
            let (_reader, writer, peer) = stream_and_raw_peer(&event_loop, DEFAULT_LIMIT).await?;
            drop(Rc::try_unwrap(peer).expect("one handle")); // an orderly close
            // The first send may go (the kernel takes it, and the peer's
            // kernel answers with a reset); a later one fails.
            for attempt in 0..100 {
                let sent = match writer.write(b"anyone?") {
                    Ok(()) => writer.drain().await,
                    failed => failed,
                };
                if let Err(error) = sent {
                    return Ok((attempt, error));
                }
            }
            panic!("a hundred writes to a closed peer all went");
        })
    });
    let (attempt, error) = got.unwrap();
    assert!(attempt > 0, "the first write goes to the kernel");
    assert!(
        matches!(
            error.kind(),
            Some(ErrorKind::BrokenPipe | ErrorKind::ConnectionReset)
        ),
        "{error:?}"
    );
}

#[test]
fn an_oversized_line_is_a_limit_overrun_and_its_bytes_stay_to_be_read() {
    const LINE: usize = DEFAULT_LIMIT + DEFAULT_LIMIT / 2;
    let got = run(|event_loop| {
        Box::pin(async move {
            let (reader, _writer, peer) = stream_and_raw_peer(&event_loop, DEFAULT_LIMIT).await?;
            let mut sent = vec![b'x'; LINE];
            sent.extend(b"\nnext\n");
            sock_sendall(&event_loop, &peer, &sent).await?;
            // All of it buffered first, so that the overrun is found at
            // the separator, not wherever the bytes happened to stop.
            until(|| reader.buffered() == sent.len()).await?;
            let overrun = reader.readline().await;
            let kept = reader.buffered();
            let mut line = Vec::new();
            while line.len() < LINE + 1 {
                line.extend(reader.read(LINE + 1 - line.len()).await?);
            }
            let next = reader.readline().await?;
            Ok((reader.limit(), overrun, kept, line, next))
        })
    });
    let (limit, overrun, kept, line, next) = got.unwrap();
    assert_eq!(limit, DEFAULT_LIMIT);
    assert!(
        matches!(overrun, Err(StreamError::LimitOverrun { consumed: LINE })),
        "{overrun:?}"
    );
    assert_eq!(kept, LINE + 6, "nothing left the buffer");
    assert!(line[..LINE].iter().all(|&b| b == b'x') && line[LINE] == b'\n');
    assert_eq!(next, b"next\n");
}

#[test]
fn drain_waits_while_the_peer_does_not_read_and_completes_once_it_does_losing_nothing() {
    let got = run(|event_loop| {
        Box::pin(async move {
            let (_reader, writer, peer) = stream_and_raw_peer(&event_loop, DEFAULT_LIMIT).await?;
            let written = fill_until_the_kernel_is_full(&writer).await?;
            let buffered = writer.transport().get_write_buffer_size();
            let draining = writer.clone();
            let drain = spawn(&event_loop, async move { draining.drain().await });
            turns(20).await?;
            let pending_while_unread = !drain.done();
            let reading = event_loop.clone();
            let read = spawn(&event_loop, async move {
                recv_exactly(&reading, &peer, written).await
            });
            outcome(drain).await??;
            let got = outcome(read).await??;
            Ok((buffered, pending_while_unread, got == pattern(written)))
        })
    });
    let (buffered, pending_while_unread, all_in_order) = got.unwrap();
    assert!(
        buffered > HIGH_WATER,
        "{buffered} bytes waited in the transport"
    );
    assert!(
        pending_while_unread,
        "drain waited while the peer did not read"
    );
    assert!(all_in_order, "every byte arrived, in order");
}

/// Write the pattern, a quarter MiB at a time, giving the transport a turn
/// to send after each, until it holds a MiB that the kernel would not
/// take: with the peer not reading, the kernel's buffers are full then,
/// and nothing more leaves until the peer reads. How much was written.
async fn fill_until_the_kernel_is_full(writer: &StreamWriter) -> Result<usize, StreamError> {
    const CHUNK: usize = 256 * 1024;
    let data = pattern(CHUNK + 251);
    let mut written = 0;
    while writer.transport().get_write_buffer_size() < 4 * CHUNK {
        assert!(written < 256 * CHUNK, "the kernel took 64 MiB unread");
        // Chunks of the one pattern: the bytes go out as one stream.
        let offset = written % 251;
        let chunk = &data[offset..offset + CHUNK];
        writer.write(chunk)?;
        written += CHUNK;
        turns(1).await?;
    }
    Ok(written)
}

#[test]
fn two_reads_at_once_are_refused() {
    let got = run(|event_loop| {
        Box::pin(async move {
            let (reader, _writer, peer) = stream_and_raw_peer(&event_loop, DEFAULT_LIMIT).await?;
            let reading = reader.clone();
            let first = spawn(&event_loop, async move { reading.read(8).await });
            turns(2).await?;
            let second = reader.readexactly(2).await;
            sock_sendall(&event_loop, &peer, b"first").await?;
            Ok((outcome(first).await??, second))
        })
    });
    let (first, second) = got.unwrap();
    assert_eq!(first, b"first");
    assert!(
        matches!(second, Err(StreamError::Busy("readexactly"))),
        "{second:?}"
    );
}

// Cancellation: a stage 5 cancel of a task waiting in the stream leaves
// the stream as it was, and the next call finds every byte once.

#[test]
fn a_cancelled_readline_takes_nothing_and_the_next_one_gets_the_whole_line() {
    let got = run(|event_loop| {
        Box::pin(async move {
            let (reader, _writer, peer) = stream_and_raw_peer(&event_loop, DEFAULT_LIMIT).await?;
            sock_sendall(&event_loop, &peer, b"hel").await?;
            let reading = reader.clone();
            let read = spawn_cancellable(&event_loop, async move { reading.readline().await });
            until(|| reader.buffered() == 3).await?;
            turns(2).await?;
            read.cancel(None);
            let cancelled = read.await;
            sock_sendall(&event_loop, &peer, b"lo\nworld\n").await?;
            Ok((
                cancelled,
                reader.readline().await?,
                reader.readline().await?,
            ))
        })
    });
    let (cancelled, first, second) = got.unwrap();
    assert!(matches!(cancelled, Err(FutureError::Cancelled)));
    assert_eq!((first, second), (b"hello\n".to_vec(), b"world\n".to_vec()));
}

#[test]
fn a_cancelled_readexactly_takes_nothing_and_the_next_one_gets_every_byte() {
    let got = run(|event_loop| {
        Box::pin(async move {
            let (reader, _writer, peer) = stream_and_raw_peer(&event_loop, DEFAULT_LIMIT).await?;
            sock_sendall(&event_loop, &peer, b"0123").await?;
            let reading = reader.clone();
            let read = spawn_cancellable(&event_loop, async move { reading.readexactly(10).await });
            until(|| reader.buffered() == 4).await?;
            turns(2).await?;
            read.cancel(None);
            let cancelled = read.await;
            sock_sendall(&event_loop, &peer, b"456789abc").await?;
            Ok((
                cancelled,
                reader.readexactly(10).await?,
                reader.read(8).await?,
            ))
        })
    });
    let (cancelled, ten, rest) = got.unwrap();
    assert!(matches!(cancelled, Err(FutureError::Cancelled)));
    assert_eq!((ten, rest), (b"0123456789".to_vec(), b"abc".to_vec()));
}

#[test]
fn a_cancelled_read_takes_nothing_and_the_next_one_gets_what_came() {
    let got = run(|event_loop| {
        Box::pin(async move {
            let (reader, _writer, peer) = stream_and_raw_peer(&event_loop, DEFAULT_LIMIT).await?;
            let reading = reader.clone();
            let read = spawn_cancellable(&event_loop, async move { reading.read(16).await });
            turns(2).await?;
            read.cancel(None);
            let cancelled = read.await;
            sock_sendall(&event_loop, &peer, b"after").await?;
            Ok((cancelled, reader.read(16).await?))
        })
    });
    let (cancelled, after) = got.unwrap();
    assert!(matches!(cancelled, Err(FutureError::Cancelled)));
    assert_eq!(after, b"after");
}

#[test]
fn a_cancelled_read_to_end_gives_back_what_it_had_read() {
    let got = run(|event_loop| {
        Box::pin(async move {
            let (reader, _writer, peer) = stream_and_raw_peer(&event_loop, DEFAULT_LIMIT).await?;
            sock_sendall(&event_loop, &peer, b"abc").await?;
            until(|| reader.buffered() == 3).await?;
            let reading = reader.clone();
            let read = spawn_cancellable(&event_loop, async move { reading.read_to_end().await });
            until(|| reader.buffered() == 0).await?; // it took them, and waits for more
            turns(2).await?;
            read.cancel(None);
            let cancelled = read.await;
            let given_back = reader.buffered();
            sock_sendall(&event_loop, &peer, b"def").await?;
            peer.shutdown(Shutdown::Write).unwrap();
            Ok((cancelled, given_back, reader.read_to_end().await?))
        })
    });
    let (cancelled, given_back, all) = got.unwrap();
    assert!(matches!(cancelled, Err(FutureError::Cancelled)));
    assert_eq!(given_back, 3);
    assert_eq!(all, b"abcdef");
}

#[test]
fn a_cancelled_drain_leaves_the_buffer_to_be_sent_and_the_next_drain_waits_as_before() {
    let got = run(|event_loop| {
        Box::pin(async move {
            let (_reader, writer, peer) = stream_and_raw_peer(&event_loop, DEFAULT_LIMIT).await?;
            let written = fill_until_the_kernel_is_full(&writer).await?;
            let draining = writer.clone();
            let drain = spawn_cancellable(&event_loop, async move { draining.drain().await });
            turns(2).await?;
            drain.cancel(None);
            let cancelled = drain.await;
            let draining = writer.clone();
            let again = spawn(&event_loop, async move { draining.drain().await });
            turns(20).await?;
            let pending_while_unread = !again.done();
            let reading = event_loop.clone();
            let read = spawn(&event_loop, async move {
                recv_exactly(&reading, &peer, written).await
            });
            outcome(again).await??;
            let got = outcome(read).await??;
            Ok((cancelled, pending_while_unread, got == pattern(written)))
        })
    });
    let (cancelled, pending_while_unread, all_in_order) = got.unwrap();
    assert!(matches!(cancelled, Err(FutureError::Cancelled)));
    assert!(pending_while_unread);
    assert!(all_in_order, "every byte arrived once, in order");
}

#[test]
fn a_cancelled_wait_closed_cancels_no_other_and_the_next_one_sees_the_close() {
    let got = run(|event_loop| {
        Box::pin(async move {
            let (_reader, writer, _peer) = stream_and_raw_peer(&event_loop, DEFAULT_LIMIT).await?;
            let waiting = writer.clone();
            let first = spawn_cancellable(&event_loop, async move { waiting.wait_closed().await });
            let waiting = writer.clone();
            let second = spawn(&event_loop, async move { waiting.wait_closed().await });
            turns(2).await?;
            first.cancel(None);
            let cancelled = first.await;
            writer.close();
            let second = outcome(second).await?;
            let third = writer.wait_closed().await;
            Ok((cancelled, second, third))
        })
    });
    let (cancelled, second, third) = got.unwrap();
    assert!(matches!(cancelled, Err(FutureError::Cancelled)));
    assert!(second.is_ok() && third.is_ok(), "{second:?} {third:?}");
}

// The server's own life.

#[test]
fn a_closed_server_stops_serving_and_wait_closed_waits_for_its_last_connection() {
    let got = run(|event_loop| {
        Box::pin(async move {
            let server = start_server(
                |reader: StreamReader, writer: StreamWriter| async move {
                    let line = reader.readline().await?;
                    writer.write(&[b"bye, ", &line[..]].concat())?;
                    writer.drain().await // then the writer goes: closed
                },
                any_port(),
            )
            .await?;
            let serving = server.is_serving();
            let (reader, writer) = open_connection(server.local_addr()).await?;
            server.close();
            let closing = server.clone();
            let wait = spawn(&event_loop, async move { closing.wait_closed().await });
            turns(20).await?;
            let waited_for_the_connection = !wait.done();
            writer.write(b"client\n")?;
            let answer = reader.read_to_end().await?;
            outcome(wait).await??;
            Ok((
                serving,
                server.is_serving(),
                waited_for_the_connection,
                answer,
            ))
        })
    });
    let (serving, serving_after, waited, answer) = got.unwrap();
    assert!(serving && !serving_after);
    assert!(waited, "wait_closed waited while a connection was open");
    assert_eq!(answer, b"bye, client\n");
}

#[test]
fn serve_forever_ends_cancelled_when_the_server_closes_and_a_cancel_of_it_closes_the_server() {
    let got = run(|event_loop| {
        Box::pin(async move {
            let handler = |_reader: StreamReader, _writer: StreamWriter| async { Ok(()) };
            let server = start_server(handler, any_port()).await?;
            let serving = server.clone();
            let forever =
                spawn_cancellable(&event_loop, async move { serving.serve_forever().await });
            turns(2).await?;
            let second = server.serve_forever().await;
            server.close();
            let closed = forever.await;
            let after_close = server.serve_forever().await;

            let other = start_server(handler, any_port()).await?;
            let serving = other.clone();
            let forever =
                spawn_cancellable(&event_loop, async move { serving.serve_forever().await });
            turns(2).await?;
            forever.cancel(None);
            let cancelled = forever.await;
            Ok((second, closed, after_close, cancelled, other.is_serving()))
        })
    });
    let (second, closed, after_close, cancelled, other_serving) = got.unwrap();
    assert!(
        matches!(second, Err(StreamError::Busy("serve_forever"))),
        "{second:?}"
    );
    assert!(matches!(closed, Err(FutureError::Cancelled)));
    assert!(
        matches!(after_close, Err(StreamError::ServerClosed)),
        "{after_close:?}"
    );
    assert!(matches!(cancelled, Err(FutureError::Cancelled)));
    assert!(!other_serving, "the cancel closed the server");
}

#[test]
fn writes_after_close_or_write_eof_are_refused() {
    let got = run(|event_loop| {
        Box::pin(async move {
            let (_reader, writer, _peer) = stream_and_raw_peer(&event_loop, DEFAULT_LIMIT).await?;
            writer.write_eof()?;
            let after_eof = writer.write(b"late");
            writer.close();
            let (_reader, other, _peer) = stream_and_raw_peer(&event_loop, DEFAULT_LIMIT).await?;
            other.close();
            let after_close = other.write(b"late");
            let closing = other.is_closing();
            other.wait_closed().await?;
            let drain = other.drain().await;
            Ok((after_eof, after_close, closing, drain))
        })
    });
    let (after_eof, after_close, closing, drain) = got.unwrap();
    let refused = |error: &Result<(), StreamError>, expected| matches!(error, Err(StreamError::Transport(got)) if *got == expected);
    assert!(
        refused(&after_eof, TransportError::WriteAfterEof),
        "{after_eof:?}"
    );
    assert!(
        refused(&after_close, TransportError::Closing),
        "{after_close:?}"
    );
    assert!(closing);
    assert!(
        matches!(drain, Err(StreamError::ConnectionLost)),
        "{drain:?}"
    );
}

/// A writer dropped without `close` closes its connection, as asyncio's
/// `__del__` does: the peer reads the end of the stream.
#[test]
fn the_last_writer_dropped_closes_the_connection() {
    let got = run(|event_loop| {
        Box::pin(async move {
            let (_reader, writer, peer) = stream_and_raw_peer(&event_loop, DEFAULT_LIMIT).await?;
            writer.write(b"last words")?;
            let copy = writer.clone();
            drop(writer);
            let still_open = !copy.is_closing();
            drop(copy);
            let mut got = Vec::new();
            loop {
                let chunk = sock_recv(&event_loop, &peer, 64).await?;
                if chunk.is_empty() {
                    return Ok((still_open, got));
                }
                got.extend(chunk);
            }
        })
    });
    let (still_open, got) = got.unwrap();
    assert!(still_open, "a clone keeps it open");
    assert_eq!(got, b"last words");
}

/// A stream error inside a task's coroutine is its exception (`?`), and a
/// cancellation stays one.
#[test]
fn stream_errors_convert_into_a_tasks_errors() {
    let cancelled: FutureError = StreamError::Future(FutureError::Cancelled).into();
    assert!(matches!(cancelled, FutureError::Cancelled));
    let failed: FutureError = StreamError::ConnectionLost.into();
    assert_eq!(failed.to_string(), "connection lost");
}
