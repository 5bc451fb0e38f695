//! The stage 6 demo (so far): a loop on epoll, waiting for a socket.

use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::process::ExitCode;

use demo_support::demo_options;
use stage01_generator_loop::RealClock;
use stage02_timed_events::AbstractEventLoop;
use stage03_read_readiness::{SelectorEventLoop, SelectorEvents};
use stage06_socket_io::EpollSelector;

const HELP: &str = "\
Stage 6: non-blocking sockets, on mio (epoll).

Usage: cargo run -p stage06-socket-io [-- OPTIONS]

A loop waits in epoll for one end of a socket pair; the other end sends a
line a moment later, and the reader prints it.

Options:
  --help          print this help";

fn main() -> ExitCode {
    if let Err(message) = demo_options::parse(std::env::args().skip(1), &[], HELP) {
        return message;
    }
    match run() {
        Ok(line) => {
            println!("the reader got: {line}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<String, Box<dyn std::error::Error>> {
    let event_loop = SelectorEventLoop::with_selector(RealClock::new(), EpollSelector::new()?)?;
    let (reader, mut writer) = UnixStream::pair()?;
    reader.set_nonblocking(true)?;
    let got = std::rc::Rc::new(std::cell::RefCell::new(String::new()));
    let seen = std::rc::Rc::clone(&got);
    let fd = reader.as_raw_fd();
    event_loop.add_reader(fd, move |event_loop| {
        let mut buffer = [0; 64];
        match std::io::Read::read(&mut &reader, &mut buffer) {
            Ok(n) => {
                seen.borrow_mut()
                    .push_str(&String::from_utf8_lossy(&buffer[..n]));
                event_loop.remove_reader(fd);
                event_loop.stop();
            }
            Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {
                event_loop.would_block(fd, stage03_read_readiness::Interest::READ);
            }
            Err(_) => event_loop.stop(),
        }
    })?;
    event_loop.call_later(0.1, move |_| {
        let _ = writer.write_all(b"hello from the other end");
    })?;
    event_loop.run_forever()?;
    let line = got.borrow().clone();
    Ok(line)
}
