//! The loop's socket operations on real sockets on 127.0.0.1, on the epoll
//! loop: what each answers, and in what order things happen; never how
//! long they take. Every case is bounded: a stage 5 timeout of ten seconds
//! around it turns a hang into a failure.

mod common;

use std::io::{ErrorKind, Read};
use std::net::{Shutdown, SocketAddr};
use std::os::fd::AsRawFd;
use std::rc::Rc;

use common::listener;
use mio::net::TcpStream;
use stage03_read_readiness::{SelectorEventLoop, SelectorEvents};
use stage04_futures_tasks::FutureError;
use stage05_cancellation::{create_task, yield_now};
use stage06_socket_io::{
    SockError, sock_accept, sock_connect, sock_recv, sock_recv_into, sock_sendall,
};

/// What a case's body is: a coroutine on the loop it is handed.
type Case<T> = common::Case<T, SockError>;

/// Run `main` on a new epoll loop, bounded (see `common::run`), in this
/// file's error.
fn run<T: 'static>(main: impl FnOnce(SelectorEventLoop) -> Case<T>) -> Result<T, SockError> {
    common::run(main)
}

/// A connected pair of TCP sockets, made through the loop.
async fn connected(
    event_loop: &SelectorEventLoop,
) -> Result<(Rc<TcpStream>, Rc<TcpStream>), SockError> {
    let (listener, address) = listener();
    let client = sock_connect(event_loop, address).await?;
    let (server, _) = sock_accept(event_loop, &listener).await?;
    Ok((client, Rc::new(server)))
}

#[test]
fn connect_accept_send_and_receive() {
    let got = run(|event_loop| {
        Box::pin(async move {
            let (client, server) = connected(&event_loop).await?;
            sock_sendall(&event_loop, &client, b"hello").await?;
            let mut got = Vec::new();
            while got.len() < 5 {
                got.extend(sock_recv(&event_loop, &server, 16).await?);
            }
            Ok(got)
        })
    });
    assert_eq!(got.unwrap(), b"hello");
}

#[test]
fn a_refused_connection_is_a_refused_error() {
    // A port held, so that no other test takes it, by a socket that does
    // not listen: the kernel refuses connections to it.
    let (_held, address) = bound_not_listening();
    let outcome = run(move |event_loop| {
        Box::pin(async move { sock_connect(&event_loop, address).await.map(|_| ()) })
    });
    let error = outcome.unwrap_err();
    assert_eq!(error.kind(), Some(ErrorKind::ConnectionRefused), "{error}");
}

#[test]
fn a_raw_recv_with_no_data_would_block_and_sock_recv_waits_for_it() {
    let outcome = run(|event_loop| {
        Box::pin(async move {
            let (client, server) = connected(&event_loop).await?;
            let raw = (&*server)
                .read(&mut [0; 8])
                .map(|_| ())
                .map_err(|error| error.kind());
            let sender = Rc::clone(&client);
            let here = event_loop.clone();
            let send = create_task(&event_loop, async move {
                yield_now().await?;
                sock_sendall(&here, &sender, b"late")
                    .await
                    .map_err(|_| FutureError::Cancelled)
            })
            .unwrap();
            let got = sock_recv(&event_loop, &server, 8).await?;
            let _ = send.await;
            Ok((raw, got))
        })
    });
    let (raw, got) = outcome.unwrap();
    assert_eq!(raw, Err(ErrorKind::WouldBlock));
    assert_eq!(got, b"late");
}

#[test]
fn after_the_peers_shutdown_of_writing_a_read_returns_nothing_and_the_other_way_works() {
    let outcome = run(|event_loop| {
        Box::pin(async move {
            let (client, server) = connected(&event_loop).await?;
            client.shutdown(Shutdown::Write).unwrap();
            let at_end = sock_recv(&event_loop, &server, 8).await?;
            sock_sendall(&event_loop, &server, b"still here").await?;
            let mut back = Vec::new();
            while back.len() < 10 {
                back.extend(sock_recv(&event_loop, &client, 16).await?);
            }
            Ok((at_end, back))
        })
    });
    let (at_end, back) = outcome.unwrap();
    assert_eq!(at_end, b"");
    assert_eq!(back, b"still here");
}

#[test]
fn sendall_waits_for_a_slow_reader_between_partial_writes_and_loses_nothing() {
    const SIZE: usize = 4 << 20; // far more than the kernel's buffers hold
    let outcome = run(|event_loop| {
        Box::pin(async move {
            let (client, server) = connected(&event_loop).await?;
            let data: Vec<u8> = (0..SIZE).map(|i| (i % 251) as u8).collect();
            let here = event_loop.clone();
            let fd = client.as_raw_fd();
            let reader = create_task(&event_loop, async move {
                let (mut got, mut saw_writer_wait) = (Vec::with_capacity(SIZE), false);
                while got.len() < SIZE {
                    saw_writer_wait |= here.has_writer(fd);
                    let chunk = sock_recv(&here, &server, 64 * 1024).await;
                    got.extend(chunk.map_err(|_| FutureError::Cancelled)?);
                }
                Ok((got, saw_writer_wait))
            })
            .unwrap();
            sock_sendall(&event_loop, &client, &data).await?;
            let (got, saw_writer_wait) = reader.await.map_err(SockError::Future)?;
            Ok((got == data, saw_writer_wait))
        })
    });
    assert_eq!(
        outcome.unwrap(),
        (true, true),
        "(all bytes, in order; the writer waited)"
    );
}

#[test]
fn a_peer_that_resets_ends_a_pending_read_with_a_reset_error_and_writing_to_it_fails() {
    let outcome = run(|event_loop| {
        Box::pin(async move {
            let (client, server) = connected(&event_loop).await?;
            let here = event_loop.clone();
            let reading = Rc::clone(&server);
            let read = create_task(&event_loop, async move {
                Ok(sock_recv(&here, &reading, 8)
                    .await
                    .map_err(|error| error.kind()))
            })
            .unwrap();
            yield_now().await.map_err(SockError::Future)?; // the read is pending now
            reset(client);
            let read = read.await.map_err(SockError::Future)?;
            // Writing to a peer that has gone: an error, and the process lives.
            let mut write = Ok(());
            for _ in 0..3 {
                write = sock_sendall(&event_loop, &server, b"anyone?").await;
                if write.is_err() {
                    break;
                }
            }
            Ok((read, write.map_err(|error| error.kind())))
        })
    });
    let (read, write) = outcome.unwrap();
    assert_eq!(read, Err(Some(ErrorKind::ConnectionReset)));
    assert!(
        matches!(
            write,
            Err(Some(ErrorKind::BrokenPipe | ErrorKind::ConnectionReset))
        ),
        "{write:?}"
    );
}

/// Close `sock`, its only holder handing it over, with `SO_LINGER` of
/// zero: the kernel sends a reset, not an orderly end.
fn reset(sock: Rc<TcpStream>) {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: a valid socket descriptor, and a pointer to a live `linger`
    // whose size is passed with it.
    #[allow(unsafe_code)]
    let set = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            std::ptr::from_ref(&linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(set, 0, "setsockopt(SO_LINGER)");
    drop(Rc::try_unwrap(sock).expect("the test holds the only handle"));
}

#[test]
fn recv_into_waits_for_data_and_fills_the_callers_buffer() {
    let outcome = run(|event_loop| {
        Box::pin(async move {
            let (client, server) = connected(&event_loop).await?;
            let here = event_loop.clone();
            let sender = Rc::clone(&client);
            let send = create_task(&event_loop, async move {
                yield_now().await?;
                sock_sendall(&here, &sender, b"into")
                    .await
                    .map_err(|_| FutureError::Cancelled)
            })
            .unwrap();
            let mut buffer = [0; 16];
            let mut count = 0;
            while count < 4 {
                count += sock_recv_into(&event_loop, &server, &mut buffer[count..]).await?;
            }
            let _ = send.await;
            drop(client);
            let at_end = sock_recv_into(&event_loop, &server, &mut buffer[count..]).await?;
            Ok((buffer[..count].to_vec(), at_end))
        })
    });
    let (got, at_end) = outcome.unwrap();
    assert_eq!(got, b"into");
    assert_eq!(at_end, 0, "the peer closed its end");
}

/// A TCP socket bound to a free port of 127.0.0.1 and not listening, and
/// its address: what neither std nor mio makes (their listeners listen).
fn bound_not_listening() -> (std::os::fd::OwnedFd, SocketAddr) {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket(2)");
    socket
        .bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into())
        .expect("bind(2)");
    let address = socket
        .local_addr()
        .unwrap()
        .as_socket()
        .expect("an IP address");
    (socket.into(), address)
}
