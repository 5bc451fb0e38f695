//! The tokio servers.

use super::*;

/// `__tokio-server WORKERS PORT BUFFER`: an echo of bytes as they come, a
/// task per connection, on a `current_thread` runtime (1 worker) or a
/// multi-threaded one; runs until killed. BUFFER `owned`: each connection
/// reads into a 64 KiB buffer of its own and `write_all`s what came, as
/// tokio's examples do. `shared`: it waits to be readable holding no
/// buffer, then reads into its thread's 64 KiB buffer and writes what came
/// back at once, keeping only what the socket would not take (as our
/// transport reads into its thread's buffer, and asyncio makes a new
/// `bytes` per `recv`): the same system calls as `owned` (one `recv` and
/// one `send` per message), and an idle connection holds no buffer.
pub(crate) fn tokio_server_main(args: &[String]) -> Result<(), String> {
    let [workers, port, buffer] = args else {
        return Err("usage: __tokio-server WORKERS PORT owned|shared".into());
    };
    let workers: usize = workers.parse().map_err(|_| "bad count")?;
    let port: u16 = port.parse().map_err(|_| "bad port")?;
    let owned = match buffer.as_str() {
        "owned" => true,
        "shared" => false,
        _ => return Err(format!("not a buffer: {buffer}")),
    };
    // For the ten thousand idle connections.
    raise_descriptor_limit(0).map_err(|e| e.to_string())?;
    let runtime = if workers == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .enable_io()
            .build()
    }
    .map_err(|e| format!("runtime: {e}"))?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .map_err(|e| format!("bind: {e}"))?;
        let address = listener.local_addr().map_err(|e| e.to_string())?;
        println!("serving on {address}");
        loop {
            let (stream, _) = listener
                .accept()
                .await
                .map_err(|e| format!("accept: {e}"))?;
            stream.set_nodelay(true).map_err(|e| e.to_string())?;
            if owned {
                tokio::spawn(echo_owned(stream));
            } else {
                tokio::spawn(echo_shared(stream));
            }
        }
    })
}

async fn echo_owned(mut stream: tokio::net::TcpStream) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let mut buffer = vec![0; 64 * 1024];
    loop {
        let count = match stream.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(count) => count,
        };
        if stream.write_all(&buffer[..count]).await.is_err() {
            return;
        }
    }
}

std::thread_local! {
    /// The read buffer of `echo_shared`'s connections on this thread.
    static READ_BUFFER: std::cell::RefCell<Vec<u8>> =
        std::cell::RefCell::new(vec![0; 64 * 1024]);
}

async fn echo_shared(mut stream: tokio::net::TcpStream) {
    use std::pin::Pin;
    use std::task::Poll;
    use tokio::io::{AsyncRead, AsyncWriteExt, ReadBuf};

    loop {
        // `poll_read` as `read` calls it, so that tokio's own shortcut
        // holds: a read that did not fill the buffer drained the socket,
        // and the next waits for the next edge without a `recv` that would
        // only say "would block". The buffer is borrowed within one poll,
        // never across an await.
        let echoed = std::future::poll_fn(|cx| {
            READ_BUFFER.with_borrow_mut(|buffer| {
                let mut read = ReadBuf::new(buffer);
                match Pin::new(&mut stream).poll_read(cx, &mut read) {
                    Poll::Pending => Poll::Pending,
                    Poll::Ready(Err(_)) => Poll::Ready(Err(())),
                    Poll::Ready(Ok(())) if read.filled().is_empty() => Poll::Ready(Err(())),
                    Poll::Ready(Ok(())) => {
                        let data = read.filled();
                        let written = match stream.try_write(data) {
                            Ok(written) => written,
                            Err(error) if error.kind() == io::ErrorKind::WouldBlock => 0,
                            Err(_) => return Poll::Ready(Err(())),
                        };
                        Poll::Ready(Ok(data[written..].to_vec()))
                    }
                }
            })
        })
        .await;
        match echoed {
            Err(()) => return,
            Ok(rest) if rest.is_empty() => {}
            Ok(rest) => {
                if stream.write_all(&rest).await.is_err() {
                    return;
                }
            }
        }
    }
}
