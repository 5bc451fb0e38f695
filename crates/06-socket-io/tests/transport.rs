//! The socket transport on real sockets on 127.0.0.1, on the epoll loop,
//! seen from a protocol that writes down every call it gets: what comes,
//! in what order, and what the water marks do. Every case is bounded by a
//! stage 5 timeout of ten seconds; none asserts how long anything takes.

mod common;

use std::cell::RefCell;
use std::io::{self, ErrorKind};
use std::net::Shutdown;
use std::rc::Rc;

use common::listener;
use mio::net::TcpStream;
use stage02_timed_events::AbstractEventLoop;
use stage03_read_readiness::{SelectorEventLoop, SelectorEvents};
use stage05_cancellation::sleep;
use stage06_socket_io::{
    HIGH_WATER, LOW_WATER, Protocol, SockError, SocketTransport, TransportError, sock_accept,
    sock_connect, sock_recv, sock_sendall,
};

/// What the protocol was told, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seen {
    /// Bytes (consecutive calls merged: how the kernel cuts them varies).
    Data(Vec<u8>),
    Eof,
    Lost(Option<ErrorKind>),
    /// With the transport's buffer size at the time.
    PauseWriting(usize),
    ResumeWriting(usize),
}

/// A protocol that writes down what it is told.
#[derive(Default)]
struct Recorder {
    seen: RefCell<Vec<Seen>>,
    /// What `eof_received` answers: keep the transport open for writing.
    keep_open: bool,
    /// To read its buffer size at the water marks.
    transport: RefCell<Option<SocketTransport>>,
}

impl Recorder {
    fn note(&self, seen: Seen) {
        let mut all = self.seen.borrow_mut();
        match (all.last_mut(), seen) {
            (Some(Seen::Data(before)), Seen::Data(more)) => before.extend(more),
            (_, seen) => all.push(seen),
        }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.borrow().clone()
    }

    fn buffered(&self) -> usize {
        let transport = self.transport.borrow();
        transport
            .as_ref()
            .map_or(0, SocketTransport::get_write_buffer_size)
    }
}

impl Protocol for Recorder {
    fn data_received(&self, data: &[u8]) {
        self.note(Seen::Data(data.to_vec()));
    }

    fn eof_received(&self) -> bool {
        self.note(Seen::Eof);
        self.keep_open
    }

    fn connection_lost(&self, error: Option<io::Error>) {
        self.note(Seen::Lost(error.map(|error| error.kind())));
        self.transport.take(); // as asyncio's protocols let go of theirs
    }

    fn pause_writing(&self) {
        self.note(Seen::PauseWriting(self.buffered()));
    }

    fn resume_writing(&self) {
        self.note(Seen::ResumeWriting(self.buffered()));
    }
}

/// What a case's body is: a coroutine on the loop it is handed.
type Case<T> = common::Case<T, SockError>;

/// Run `main` on a new epoll loop, bounded (see `common::run`), in this
/// file's error.
fn run<T: 'static>(main: impl FnOnce(SelectorEventLoop) -> Case<T>) -> Result<T, SockError> {
    common::run(main)
}

/// A transport on one end of a new connection, with a [`Recorder`] for
/// protocol, and the raw socket at the other end.
async fn transport_and_raw_peer(
    event_loop: &SelectorEventLoop,
    keep_open: bool,
) -> Result<(SocketTransport, Rc<Recorder>, Rc<TcpStream>), SockError> {
    let (listener, address) = listener();
    let sock = sock_connect(event_loop, address).await?;
    let (peer, _) = sock_accept(event_loop, &listener).await?;
    let sock = Rc::try_unwrap(sock).expect("one handle");
    let recorder = Rc::new(Recorder {
        keep_open,
        ..Recorder::default()
    });
    let transport = SocketTransport::new(event_loop, sock, recorder.clone()).unwrap();
    *recorder.transport.borrow_mut() = Some(transport.clone());
    Ok((transport, recorder, Rc::new(peer)))
}

/// Yield until `done` says so, in this file's error.
async fn until(done: impl FnMut() -> bool) -> Result<(), SockError> {
    common::until(done).await.map_err(SockError::Future)
}

/// A few turns of the loop, in this file's error.
async fn turns(count: usize) -> Result<(), SockError> {
    common::turns(count).await.map_err(SockError::Future)
}

fn pattern(count: usize) -> Vec<u8> {
    (0..count).map(|i| (i % 251) as u8).collect()
}

/// Everything the raw peer reads until the end of the stream.
async fn recv_to_end(
    event_loop: &SelectorEventLoop,
    peer: &Rc<TcpStream>,
) -> Result<Vec<u8>, SockError> {
    let mut got = Vec::new();
    loop {
        let chunk = sock_recv(event_loop, peer, 256 * 1024).await?;
        if chunk.is_empty() {
            return Ok(got);
        }
        got.extend(chunk);
    }
}

/// Write the pattern on from byte `written`, in 16 KiB pieces, without
/// giving the loop a turn, until the transport holds more than `beyond`
/// bytes. How much is written then, in all.
fn write_until_buffered(transport: &SocketTransport, beyond: usize, mut written: usize) -> usize {
    const PIECE: usize = 16 * 1024;
    let data = pattern(PIECE + 251);
    while transport.get_write_buffer_size() <= beyond {
        assert!(written < 64 << 20, "the kernel took 64 MiB unread");
        let offset = written % 251;
        transport.write(&data[offset..offset + PIECE]).unwrap();
        written += PIECE;
    }
    written
}

#[test]
fn data_then_end_of_file_then_connection_lost_in_that_order() {
    let got = run(|event_loop| {
        Box::pin(async move {
            // `eof_received` answers false: the transport closes itself.
            let (transport, recorder, peer) = transport_and_raw_peer(&event_loop, false).await?;
            sock_sendall(&event_loop, &peer, b"hello").await?;
            peer.shutdown(Shutdown::Write).unwrap();
            until(|| recorder.seen().len() == 3).await?;
            let back = recv_to_end(&event_loop, &peer).await?;
            Ok((recorder.seen(), transport.is_closing(), back))
        })
    });
    let (seen, closing, back) = got.unwrap();
    let expected = [Seen::Data(b"hello".to_vec()), Seen::Eof, Seen::Lost(None)];
    assert_eq!(seen, expected);
    assert!(closing);
    assert_eq!(back, b"", "the transport closed its end too");
}

#[test]
fn pause_writing_over_the_high_water_mark_and_resume_writing_at_the_low_one() {
    let got = run(|event_loop| {
        Box::pin(async move {
            let (transport, recorder, peer) = transport_and_raw_peer(&event_loop, true).await?;
            assert_eq!(transport.get_write_buffer_limits(), (LOW_WATER, HIGH_WATER));
            // Under the mark, nobody is told anything.
            let written = write_until_buffered(&transport, 0, 0);
            assert_eq!(recorder.seen(), []);
            let written = write_until_buffered(&transport, HIGH_WATER, written);
            let paused = recorder.seen();
            transport.close(); // once the buffer is sent
            let got = recv_to_end(&event_loop, &peer).await?;
            until(|| recorder.seen().len() == 3).await?;
            Ok((paused, recorder.seen(), got == pattern(written)))
        })
    });
    let (paused, seen, all_in_order) = got.unwrap();
    // Told in the write that took the buffer over the mark, not before.
    let [Seen::PauseWriting(at)] = paused[..] else {
        panic!("{paused:?}");
    };
    assert!(HIGH_WATER < at && at <= HIGH_WATER + 16 * 1024, "{at}");
    let [_, Seen::ResumeWriting(resumed_at), Seen::Lost(None)] = seen[..] else {
        panic!("{seen:?}");
    };
    assert!(resumed_at <= LOW_WATER, "{resumed_at}");
    assert!(all_in_order, "every byte arrived, in order");
}

#[test]
fn write_eof_waits_for_the_buffer_and_the_other_way_still_works() {
    let got = run(|event_loop| {
        Box::pin(async move {
            let (transport, recorder, peer) = transport_and_raw_peer(&event_loop, true).await?;
            let written = write_until_buffered(&transport, 0, 0);
            assert!(transport.can_write_eof());
            transport.write_eof().unwrap();
            let refused = transport.write(b"late");
            let got = recv_to_end(&event_loop, &peer).await?;
            sock_sendall(&event_loop, &peer, b"back").await?;
            until(|| !recorder.seen().is_empty()).await?;
            Ok((refused, got == pattern(written), recorder.seen()))
        })
    });
    let (refused, all_then_end, seen) = got.unwrap();
    assert_eq!(refused, Err(TransportError::WriteAfterEof));
    assert!(all_then_end, "every byte, then the end");
    assert_eq!(seen, [Seen::Data(b"back".to_vec())]);
}

#[test]
fn close_sends_the_buffer_first_and_abort_drops_it() {
    let got = run(|event_loop| {
        Box::pin(async move {
            let (transport, recorder, peer) = transport_and_raw_peer(&event_loop, true).await?;
            let written = write_until_buffered(&transport, 0, 0);
            transport.close();
            turns(5).await?;
            let lost_before_sent = recorder.seen().contains(&Seen::Lost(None));
            let refused = transport.write(b"late");
            let got = recv_to_end(&event_loop, &peer).await?;
            until(|| recorder.seen().contains(&Seen::Lost(None))).await?;
            let closed = (lost_before_sent, refused, got == pattern(written));

            let (transport, recorder, peer) = transport_and_raw_peer(&event_loop, true).await?;
            let written = write_until_buffered(&transport, 0, 0);
            transport.abort();
            let dropped = transport.get_write_buffer_size();
            turns(1).await?;
            let lost = recorder.seen();
            let got = recv_to_end(&event_loop, &peer).await;
            let got = got.map_or(0, |got| got.len());
            Ok((closed, (dropped, lost, got < written)))
        })
    });
    let ((lost_before_sent, refused, all), (dropped, lost, short)) = got.unwrap();
    assert!(!lost_before_sent, "close waits for the buffer");
    assert_eq!(refused, Err(TransportError::Closing));
    assert!(all, "every byte written before close arrived");
    assert_eq!(dropped, 0);
    assert_eq!(lost, [Seen::Lost(None)]);
    assert!(short, "abort dropped what the kernel had not taken");
}

#[test]
fn nothing_is_read_while_reading_is_paused_and_nothing_is_lost() {
    let got = run(|event_loop| {
        Box::pin(async move {
            let (transport, recorder, peer) = transport_and_raw_peer(&event_loop, true).await?;
            transport.pause_reading();
            let reading = transport.is_reading();
            sock_sendall(&event_loop, &peer, b"while paused").await?;
            // On loopback the bytes are in this side's kernel buffer by now;
            // a few turns give a reader, if there were one, its chance.
            turns(5).await?;
            let watched = event_loop.has_reader(transport.fd());
            let seen_while_paused = recorder.seen();
            transport.resume_reading();
            until(|| !recorder.seen().is_empty()).await?;
            Ok((reading, watched, seen_while_paused, recorder.seen()))
        })
    });
    let (reading, watched, seen_while_paused, seen) = got.unwrap();
    assert!(!reading && !watched, "paused: no reader on the socket");
    assert_eq!(seen_while_paused, []);
    assert_eq!(seen, [Seen::Data(b"while paused".to_vec())]);
}

#[test]
fn a_peer_reset_ends_the_connection_with_the_error() {
    let got = run(|event_loop| {
        Box::pin(async move {
            let (transport, recorder, peer) = transport_and_raw_peer(&event_loop, true).await?;
            transport.write(b"unread").unwrap();
            // Closed with bytes unread, a socket resets its connection.
            let mut look = [0; 6];
            until(|| peer.peek(&mut look).is_ok_and(|count| count == 6)).await?;
            drop(Rc::try_unwrap(peer).expect("one handle"));
            until(|| !recorder.seen().is_empty()).await?;
            Ok((recorder.seen(), transport.write(b"more")))
        })
    });
    let (seen, write) = got.unwrap();
    assert_eq!(seen, [Seen::Lost(Some(ErrorKind::ConnectionReset))]);
    assert_eq!(write, Err(TransportError::Closing));
}

/// The transport says "would block" when the socket does: the epoll
/// selector then forgets the readiness, and the loop waits in epoll
/// instead of running the reader or writer at every turn. Counted in
/// turns of the loop during a sleep, which a transport that never said
/// so would fill with thousands.
#[test]
fn the_reader_and_writer_rest_while_their_socket_would_block() {
    let got = run(|event_loop| {
        Box::pin(async move {
            let (transport, recorder, peer) = transport_and_raw_peer(&event_loop, true).await?;
            sock_sendall(&event_loop, &peer, b"ping").await?;
            until(|| !recorder.seen().is_empty()).await?;
            // More than the kernels of both ends hold, unread.
            const MUCH: usize = 16 << 20;
            write_until_buffered(&transport, MUCH, 0);
            // The peer reads until the writer has sent some: the writer
            // ran. Then it stops reading, and a send would block again.
            while transport.get_write_buffer_size() >= MUCH {
                sock_recv(&event_loop, &peer, 256 * 1024).await?;
            }
            // A first sleep lets what the kernels still take flow, until a
            // send would block; the second is the one counted.
            sleep(0.05, ()).await.map_err(SockError::Future)?;
            let writing = event_loop.has_writer(transport.fd());
            let before = event_loop.iterations();
            sleep(0.05, ()).await.map_err(SockError::Future)?;
            let during_sleep = event_loop.iterations() - before;
            transport.abort();
            Ok((writing, during_sleep))
        })
    });
    let (writing, during_sleep) = got.unwrap();
    assert!(writing, "the writer still had bytes to send");
    assert!(
        during_sleep < 10,
        "{during_sleep} turns of the loop in one sleep"
    );
}
