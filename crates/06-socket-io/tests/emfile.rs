//! Out of descriptors: a server whose `accept` fails with `EMFILE` says
//! so once, stops accepting for a second instead of trying again at every
//! turn of the loop, and once descriptors are free serves the clients that
//! waited, in the order they connected (asyncio's `_accept_connection`
//! and `ACCEPT_RETRY_DELAY`; chapter 6, "What a real network does").
//!
//! One test in this binary, and alone in it: `RLIMIT_NOFILE`, which the
//! test lowers, is the whole process's, and any other test running beside
//! it would find no descriptor either.
//!
//! It runs on the virtual clock, so the back-off of a second takes none:
//! when nothing is ready, the loop moves the clock to its next timer, the
//! server's retry. Real sockets still work there, as long as the kernel
//! has delivered whenever the loop looks, since a look that finds nothing
//! moves the clock on. So the test waits for the kernel outside the loop
//! (`delivered`) before the loop can look: every client's bytes have been
//! taken in by the server's kernel, its connection in the listener's
//! queue. The clients are plain blocking sockets, outside the loop; they
//! read their answers after it has run.

use std::cell::{Cell, RefCell};
use std::fs::File;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::rc::Rc;
use std::time::{Duration, Instant};

use stage01_generator_loop::VirtualClock;
use stage02_timed_events::{AbstractEventLoop, seconds::Nanos};
use stage03_read_readiness::{SelectorEventLoop, SelectorEvents};
use stage04_futures_tasks::{Event, FutureError, run_until_complete, task_outcome};
use stage05_cancellation::{create_task, wait_for};
use stage06_socket_io::{EpollSelector, StreamReader, StreamWriter, start_server};

/// Clients connected before the descriptors run out; one more connects
/// while the server backs off.
const CLIENTS_BEFORE: usize = 2;
const CLIENTS: usize = CLIENTS_BEFORE + 1;

/// More reports than this: the server tries again at every turn, and the
/// loop is stopped (a spin moves no virtual time, so no timeout would end
/// it).
const SPIN: usize = 10;

/// The longest the kernel may take to deliver, in real time.
const KERNEL: Duration = Duration::from_secs(10);

/// A nanosecond count of the loop's clock, in seconds.
const SECOND: Nanos = 1_000_000_000;

/// What the loop's exception handler heard, and when.
struct Report {
    iteration: u64,
    at: Nanos,
    text: String,
}

/// A connection served: when its handler read its line, and the line.
struct Served {
    iteration: u64,
    at: Nanos,
    line: Vec<u8>,
}

#[test]
fn out_of_descriptors_the_server_says_so_backs_off_a_second_and_serves_the_clients_that_waited() {
    let event_loop =
        SelectorEventLoop::with_selector(VirtualClock::new(), EpollSelector::new().unwrap())
            .unwrap();
    let address: Rc<Cell<Option<SocketAddr>>> = Rc::default();
    let clients: Rc<RefCell<Vec<TcpStream>>> = Rc::default();
    let held: Rc<RefCell<Vec<File>>> = Rc::default();
    let reports: Rc<RefCell<Vec<Report>>> = Rc::default();
    let served: Rc<RefCell<Vec<Served>>> = Rc::default();
    let all_served = Event::new();
    let limit: Rc<RefCell<Option<LoweredLimit>>> = Rc::default();

    let (heard, freeing) = (Rc::clone(&reports), Rc::clone(&held));
    let (late, listening) = (Rc::clone(&clients), Rc::clone(&address));
    event_loop.set_exception_handler(move |event_loop, report| {
        let mut heard = heard.borrow_mut();
        heard.push(Report {
            iteration: event_loop.iterations(),
            at: event_loop.now(),
            text: report.to_string(),
        });
        match heard.len() {
            // Clients keep coming: one descriptor is freed, and a new
            // client takes it. The server has none still.
            1 => {
                freeing.borrow_mut().pop();
                let address = listening.get().expect("serving");
                late.borrow_mut().push(connect(address, CLIENTS_BEFORE));
            }
            // Descriptors are freed: one for each waiting client, and one
            // more, for the `accept` after them, which finds the queue
            // empty (with none free, it fails again: the kernel takes a
            // descriptor before it looks in the queue).
            2 => {
                let mut freeing = freeing.borrow_mut();
                let keep = freeing.len() - (CLIENTS + 1);
                freeing.truncate(keep);
            }
            count if count > SPIN => event_loop.stop(),
            _ => {}
        }
    });

    let (here, log, done) = (event_loop.clone(), Rc::clone(&served), all_served.clone());
    let handler = move |reader: StreamReader, writer: StreamWriter| {
        let (here, log, done) = (here.clone(), Rc::clone(&log), done.clone());
        async move {
            let line = reader.readline().await?;
            writer.write(&[b"hello, ", &line[..]].concat())?;
            writer.drain().await?;
            let mut log = log.borrow_mut();
            log.push(Served {
                iteration: here.iterations(),
                at: here.now(),
                line,
            });
            if log.len() == CLIENTS {
                done.set();
            }
            Ok(()) // the writer goes: the connection closes
        }
    };

    let (connected, lowered) = (Rc::clone(&clients), Rc::clone(&limit));
    let (filling, serving) = (Rc::clone(&held), Rc::clone(&address));
    let main = async move {
        let any_port = SocketAddr::from(([127, 0, 0, 1], 0));
        let server = start_server(handler, any_port).await?;
        serving.set(Some(server.local_addr()));
        for number in 0..CLIENTS_BEFORE {
            let client = connect(server.local_addr(), number);
            connected.borrow_mut().push(client);
        }
        // From here on, no descriptor is free; the server's first
        // `accept` comes at the loop's next look.
        let (limit, fillers) = run_out_of_descriptors();
        *lowered.borrow_mut() = Some(limit);
        assert!(fillers.len() >= CLIENTS + 2, "room to free enough");
        *filling.borrow_mut() = fillers;
        all_served.wait().await?;
        server.close();
        server.wait_closed().await?;
        Ok::<(), FutureError>(())
    };
    let task = create_task(&event_loop, async move { wait_for(main, Some(10.0)).await }).unwrap();
    let outcome = task_outcome(run_until_complete(&event_loop, task));

    // Descriptors back, whatever happened, before anything needs one.
    held.borrow_mut().clear();
    drop(limit.borrow_mut().take());
    let outcome = outcome.unwrap_or_else(|error| {
        let heard: Vec<_> = reports.borrow().iter().map(|r| r.text.clone()).collect();
        panic!("the loop was stopped ({error}): a spin? {heard:#?}")
    });
    outcome.expect("every client served within ten (virtual) seconds");

    // Said once per try, a second apart: no spin.
    let reports = reports.borrow();
    assert_eq!(reports.len(), 2, "one report per failed try");
    let server = address.get().expect("served");
    for report in reports.iter() {
        assert_eq!(
            report.text,
            format!(
                "socket.accept() out of system resource: Too many open files (os error 24); \
                 accepting again in 1 s\nsocket: <Server {server}>"
            )
        );
    }
    let (first, second) = (&reports[0], &reports[1]);
    assert_eq!(second.at - first.at, SECOND, "the retry a second later");
    // The loop waited the second out in one turn (the virtual clock moves
    // to the retry), and the retry looked in the next: two turns, not the
    // tens of thousands a spin makes in a second.
    assert_eq!(second.iteration - first.iteration, 2);

    // Served once descriptors were free: at the next retry, in the order
    // they connected, the late client too.
    let served = served.borrow();
    let lines: Vec<&[u8]> = served.iter().map(|s| &s.line[..]).collect();
    assert_eq!(lines, [&b"client 0\n"[..], b"client 1\n", b"client 2\n"]);
    for connection in served.iter() {
        assert_eq!(connection.at - second.at, SECOND);
        assert!(connection.iteration - second.iteration <= 6, "a few turns");
    }

    // And each client has its answer, then the end of the stream.
    for (number, client) in clients.borrow_mut().iter_mut().enumerate() {
        let mut answer = String::new();
        client.read_to_string(&mut answer).unwrap();
        assert_eq!(answer, format!("hello, client {number}\n"));
    }
}

/// A blocking client, connected to `address`, that sends its line and
/// waits until the server's kernel has it: the connection is then in the
/// listener's queue, and the line in its socket, whether or not the
/// server has accepted it.
fn connect(address: SocketAddr, number: usize) -> TcpStream {
    let mut client = TcpStream::connect(address).unwrap();
    client.set_read_timeout(Some(KERNEL)).unwrap();
    client
        .write_all(format!("client {number}\n").as_bytes())
        .unwrap();
    delivered(&client);
    client
}

/// Wait, outside the loop, until the peer's kernel has acknowledged every
/// byte `client` sent (`SIOCOUTQ`, what is sent and not acknowledged, is
/// zero), and so has the connection and the bytes.
fn delivered(client: &TcpStream) {
    let started = Instant::now();
    loop {
        let mut unacknowledged: libc::c_int = 0;
        // SAFETY: an open socket, and a pointer to a live `c_int` for the
        // kernel to write the count into, which is what TIOCOUTQ (Linux's
        // SIOCOUTQ) takes.
        #[allow(unsafe_code)]
        let asked = unsafe {
            libc::ioctl(
                client.as_raw_fd(),
                libc::TIOCOUTQ,
                &mut unacknowledged as *mut libc::c_int,
            )
        };
        assert_eq!(asked, 0, "ioctl(SIOCOUTQ)");
        if unacknowledged == 0 {
            return;
        }
        assert!(started.elapsed() < KERNEL, "the kernel did not deliver");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// `RLIMIT_NOFILE` lowered: the soft limit set back as it was when
/// dropped.
struct LoweredLimit {
    was: libc::rlimit,
}

impl Drop for LoweredLimit {
    fn drop(&mut self) {
        // SAFETY: a pointer to a live `rlimit`, which setrlimit(2) reads.
        #[allow(unsafe_code)]
        let set = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &self.was) };
        assert_eq!(set, 0, "setrlimit(RLIMIT_NOFILE) back");
    }
}

/// Lower this process's soft limit on descriptors to a few above those
/// open, and take the rest: afterwards no descriptor is free, until one
/// of those returned is dropped.
fn run_out_of_descriptors() -> (LoweredLimit, Vec<File>) {
    let mut was = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: a pointer to a live `rlimit`, which getrlimit(2) fills.
    #[allow(unsafe_code)]
    let got = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut was) };
    assert_eq!(got, 0, "getrlimit(RLIMIT_NOFILE)");
    // The lowest free descriptor now: the next open gets it.
    let lowest = File::open("/dev/null").unwrap().as_raw_fd();
    let soft = (lowest as libc::rlim_t + 16).min(was.rlim_cur);
    let lowered = libc::rlimit {
        rlim_cur: soft,
        rlim_max: was.rlim_max,
    };
    // SAFETY: a pointer to a live `rlimit`, which setrlimit(2) reads.
    #[allow(unsafe_code)]
    let set = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lowered) };
    assert_eq!(set, 0, "setrlimit(RLIMIT_NOFILE)");
    let limit = LoweredLimit { was };
    let mut held = Vec::new();
    loop {
        match File::open("/dev/null") {
            Ok(file) => held.push(file),
            Err(error) if error.raw_os_error() == Some(libc::EMFILE) => break,
            Err(error) => panic!("open(/dev/null): {error}"),
        }
    }
    (limit, held)
}
