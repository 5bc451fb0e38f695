//! The client.

use super::*;

/// One connection's side of the ping-pong: the message it sent, what has
/// come back of it so far.
pub(crate) struct Conn {
    pub(crate) index: usize,
    /// How many requests this connection has sent before the current one.
    pub(crate) seq: u64,
    pub(crate) sent: Vec<u8>,
    pub(crate) got: Vec<u8>,
    pub(crate) filled: usize,
    pub(crate) written: usize,
    /// Whether it waits to be writable (a `write` that would have blocked).
    pub(crate) want_write: bool,
}

impl Conn {
    pub(crate) fn new(index: usize) -> Self {
        // Bytes that differ from connection to connection and from place to
        // place, with the request's number stamped in the first eight.
        let sent = (0..MESSAGE)
            .map(|at| (at.wrapping_mul(31) ^ index.wrapping_mul(7)) as u8)
            .collect();
        let mut conn = Self {
            index,
            seq: 0,
            sent,
            got: vec![0; MESSAGE],
            filled: 0,
            written: 0,
            want_write: false,
        };
        conn.stamp();
        conn
    }

    pub(crate) fn stamp(&mut self) {
        let stamp = self.seq ^ ((self.index as u64) << 40);
        self.sent[..8].copy_from_slice(&stamp.to_le_bytes());
    }

    /// The next request.
    pub(crate) fn next(&mut self) {
        self.seq += 1;
        self.stamp();
        self.filled = 0;
        self.written = 0;
    }

    /// Fail unless what came back is what was sent.
    pub(crate) fn check(&self) -> Result<(), String> {
        if self.got == self.sent {
            return Ok(());
        }
        let at = self
            .got
            .iter()
            .zip(&self.sent)
            .position(|(got, sent)| got != sent)
            .unwrap_or(0);
        Err(format!(
            "connection {}, request {}: the server echoed other bytes than were \
             sent (first at byte {at} of {MESSAGE}: {:#04x}, not {:#04x})",
            self.index, self.seq, self.got[at], self.sent[at]
        ))
    }

    /// Write what is left of the request; if the socket is full, wait to
    /// be writable as well.
    pub(crate) fn send(
        &mut self,
        stream: &mut mio::net::TcpStream,
        poll: &Poll,
        token: Token,
    ) -> Result<(), String> {
        while self.written < MESSAGE {
            match stream.write(&self.sent[self.written..]) {
                Ok(0) => return Err(format!("connection {}: write gave 0", self.index)),
                Ok(count) => self.written += count,
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                    if !self.want_write {
                        let both = Interest::READABLE | Interest::WRITABLE;
                        poll.registry()
                            .reregister(stream, token, both)
                            .map_err(|e| format!("reregister: {e}"))?;
                        self.want_write = true;
                    }
                    return Ok(());
                }
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(format!("connection {}: write: {error}", self.index)),
            }
        }
        if self.want_write {
            poll.registry()
                .reregister(stream, token, Interest::READABLE)
                .map_err(|e| format!("reregister: {e}"))?;
            self.want_write = false;
        }
        Ok(())
    }

    /// Read what has come; once the whole echo is in, check it and, if
    /// `more`, send the next request. Returns whether a request completed.
    ///
    /// The socket is watched edge-triggered, so a read normally goes on
    /// until it would block; but once the echo is complete nothing more
    /// can be in the socket (the server has nothing else to send until
    /// the next request), and the next echo's arrival is a new edge: the
    /// read that would only say "would block" is saved.
    pub(crate) fn receive(
        &mut self,
        stream: &mut mio::net::TcpStream,
        poll: &Poll,
        token: Token,
        more: bool,
    ) -> Result<bool, String> {
        loop {
            match stream.read(&mut self.got[self.filled..]) {
                Ok(0) => {
                    return Err(format!(
                        "connection {}: the server closed it mid-request",
                        self.index
                    ));
                }
                Ok(count) => {
                    self.filled += count;
                    if self.filled == MESSAGE {
                        self.check()?;
                        self.next();
                        if more {
                            self.send(stream, poll, token)?;
                        }
                        return Ok(true);
                    }
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(format!("connection {}: read: {error}", self.index)),
            }
        }
    }
}

/// Open `count` connections to `address`, blocking, in batches, and make
/// one checked round trip on each (so that the server has accepted them
/// all and holds whatever a connection that has echoed costs it).
pub(crate) fn connect_all(
    address: SocketAddr,
    count: usize,
) -> Result<Vec<(Conn, TcpStream)>, String> {
    let mut all: Vec<(Conn, TcpStream)> = Vec::with_capacity(count);
    while all.len() < count {
        let first = all.len();
        for index in first..count.min(first + CONNECT_BATCH) {
            let fail = |e: io::Error| format!("connection {index} to {address}: {e}");
            let stream = TcpStream::connect_timeout(&address, STALL).map_err(fail)?;
            stream.set_nodelay(true).map_err(fail)?;
            stream.set_read_timeout(Some(STALL)).map_err(fail)?;
            let conn = Conn::new(index);
            (&stream).write_all(&conn.sent).map_err(fail)?;
            all.push((conn, stream));
        }
        for (conn, stream) in &mut all[first..] {
            let index = conn.index;
            stream
                .read_exact(&mut conn.got)
                .map_err(|e| format!("connection {index}: no echo of its first request: {e}"))?;
            conn.check()?;
            conn.next();
        }
    }
    Ok(all)
}

/// `__client ADDRESS CONNECTIONS WARMUP SECONDS SERVER_PID`: ping-pong on
/// every connection for WARMUP seconds, then for SECONDS more, counted;
/// print `result requests=… nanos=… server_cpu_ns=… client_cpu_ns=…
/// machine_cpu_ns=…`, then wait for the echoes still on their way.
pub(crate) fn client_main(args: &[String]) -> Result<(), String> {
    let [address, connections, warmup, seconds, server] = args else {
        return Err("usage: __client ADDRESS CONNECTIONS WARMUP SECONDS SERVER_PID".into());
    };
    let address: SocketAddr = address.parse().map_err(|_| "bad address")?;
    let connections: usize = connections.parse().map_err(|_| "bad count")?;
    let warmup = Duration::from_secs_f64(warmup.parse().map_err(|_| "bad warm-up")?);
    let seconds = Duration::from_secs_f64(seconds.parse().map_err(|_| "bad window")?);
    let server: u32 = server.parse().map_err(|_| "bad pid")?;
    let me = std::process::id();
    raise_descriptor_limit(connections as u64 + 64).map_err(|e| e.to_string())?;

    let mut poll = Poll::new().map_err(|e| format!("epoll: {e}"))?;
    let mut conns = Vec::with_capacity(connections);
    let mut streams = Vec::with_capacity(connections);
    for (conn, stream) in connect_all(address, connections)? {
        stream
            .set_nonblocking(true)
            .map_err(|e| format!("nonblocking: {e}"))?;
        let mut stream = mio::net::TcpStream::from_std(stream);
        poll.registry()
            .register(&mut stream, Token(conn.index), Interest::READABLE)
            .map_err(|e| format!("register: {e}"))?;
        conns.push(conn);
        streams.push(stream);
    }
    for (index, (conn, stream)) in conns.iter_mut().zip(&mut streams).enumerate() {
        conn.send(stream, &poll, Token(index))?;
    }

    let mut events = Events::with_capacity(1024);
    let warm_until = Instant::now() + warmup;
    let mut done: u64 = 0;
    // Where the measured window began and ended: requests, time, and the
    // CPU time of the server, the client and the machine.
    let mut window: Vec<(u64, Instant, u64, u64, u64)> = Vec::new();
    let mark = |done: u64| -> Result<(u64, Instant, u64, u64, u64), String> {
        let now = Instant::now();
        Ok((done, now, cpu_ns(server)?, cpu_ns(me)?, machine_cpu_ns()?))
    };
    // After the window, each connection waits for its last echo and sends
    // no more, so that the client closes connections with nothing unread
    // (a close with unread bytes resets the connection, which servers log).
    let mut waiting = connections;
    while waiting > 0 {
        poll.poll(&mut events, Some(STALL))
            .map_err(|e| format!("epoll_wait: {e}"))?;
        if events.is_empty() {
            return Err(format!(
                "no echo for {STALL:?} on any of {connections} connections: the server stalled"
            ));
        }
        let more = window.len() < 2;
        for event in &events {
            let token = event.token();
            let (conn, stream) = (&mut conns[token.0], &mut streams[token.0]);
            if event.is_writable() && conn.want_write {
                conn.send(stream, &poll, token)?;
            }
            if (event.is_readable() || event.is_read_closed() || event.is_error())
                && conn.receive(stream, &poll, token, more)?
            {
                done += 1;
                if !more {
                    waiting -= 1;
                }
            }
        }
        if more {
            match window.first() {
                None if Instant::now() >= warm_until => window.push(mark(done)?),
                Some(&(_, start, ..)) if Instant::now() >= start + seconds => {
                    window.push(mark(done)?);
                }
                _ => {}
            }
        }
    }
    let [start, end] = window[..] else {
        return Err("no window".into());
    };
    println!(
        "result requests={} nanos={} server_cpu_ns={} client_cpu_ns={} machine_cpu_ns={}",
        end.0 - start.0,
        (end.1 - start.1).as_nanos(),
        end.2.saturating_sub(start.2),
        end.3.saturating_sub(start.3),
        end.4.saturating_sub(start.4),
    );
    Ok(())
}

/// `__idle-client ADDRESS COUNT`: open COUNT connections, echo one message
/// on each, print `idle COUNT`, and hold them until standard input ends.
pub(crate) fn idle_client_main(args: &[String]) -> Result<(), String> {
    let [address, count] = args else {
        return Err("usage: __idle-client ADDRESS COUNT".into());
    };
    let address: SocketAddr = address.parse().map_err(|_| "bad address")?;
    let count: usize = count.parse().map_err(|_| "bad count")?;
    raise_descriptor_limit(count as u64 + 64).map_err(|e| e.to_string())?;
    let held = connect_all(address, count)?;
    println!("idle {}", held.len());
    io::stdout().flush().map_err(|e| e.to_string())?;
    let mut rest = Vec::new();
    let _ = io::stdin().read_to_end(&mut rest);
    drop(held);
    Ok(())
}
