//! What stage 6's real-socket tests share: a case run on a new epoll loop,
//! bounded in time, and sockets on a free port of 127.0.0.1.

#![allow(dead_code, reason = "not every test binary uses every helper")]

use std::net::SocketAddr;
use std::rc::Rc;

use mio::net::TcpListener;
use stage01_generator_loop::{Clock, RealClock};
use stage03_read_readiness::{SelectorEventLoop, SelectorEvents};
use stage04_futures_tasks::{FutureError, run_until_complete, task_outcome};
use stage05_cancellation::{Runner, create_task, wait_for, yield_now};
use stage06_socket_io::EpollSelector;

/// What a case's body is: a coroutine on the loop it is handed.
pub(crate) type Case<T, E> = std::pin::Pin<Box<dyn std::future::Future<Output = Result<T, E>>>>;

/// Run `main` as a stage 5 task on a new epoll loop, on the real clock,
/// for at most ten seconds (a case that would hang fails instead).
pub(crate) fn run<T: 'static, E: 'static>(
    main: impl FnOnce(SelectorEventLoop) -> Case<T, E>,
) -> Result<T, E> {
    let event_loop =
        SelectorEventLoop::with_selector(RealClock::new(), EpollSelector::new().unwrap()).unwrap();
    let body = main(event_loop.clone());
    // `wait_for` hands back a value it can copy: the outcome in an `Rc`.
    let task = create_task(&event_loop, async move {
        let bounded = wait_for(async move { Ok(Rc::new(body.await)) }, Some(10.0)).await;
        Ok(bounded.unwrap_or_else(|error| panic!("the case did not end in time: {error}")))
    })
    .unwrap();
    let outcome = task_outcome(run_until_complete(&event_loop, task)).unwrap();
    Rc::try_unwrap(outcome.unwrap()).unwrap_or_else(|_| panic!("one holder"))
}

/// Run `body` as main on a stage 5 runner's epoll loop on `clock`, for at
/// most ten seconds of that clock; the runner cancels what is left.
pub(crate) fn bounded<T: Clone + 'static>(
    clock: impl Clock + 'static,
    body: impl std::future::Future<Output = Result<T, FutureError>> + 'static,
) -> T {
    let runner = Runner::with_selector(clock, EpollSelector::new().unwrap()).unwrap();
    let outcome = runner.run(wait_for(body, Some(10.0)));
    runner.close().unwrap();
    outcome.unwrap_or_else(|error| panic!("the case failed, or did not end in time: {error}"))
}

/// Any free port of 127.0.0.1.
pub(crate) fn any_port() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

/// A listener on a free port of 127.0.0.1, and its address.
pub(crate) fn listener() -> (Rc<TcpListener>, SocketAddr) {
    let listener = TcpListener::bind(any_port()).unwrap();
    let address = listener.local_addr().unwrap();
    (Rc::new(listener), address)
}

/// Yield to the loop until `done` says so (the ten-second bound of `run`
/// fails a case that never sees it).
pub(crate) async fn until(mut done: impl FnMut() -> bool) -> Result<(), FutureError> {
    while !done() {
        yield_now().await?;
    }
    Ok(())
}

/// A few turns of the loop: whatever was ready has run.
pub(crate) async fn turns(count: usize) -> Result<(), FutureError> {
    for _ in 0..count {
        yield_now().await?;
    }
    Ok(())
}

/// Ctrl-C to `child` (a real SIGINT), as a reader's terminal would send it.
pub(crate) fn interrupt(child: &std::process::Child) {
    // SAFETY: kill(2) takes a process id and a signal number and touches no
    // memory of ours; the id is our own child's, not yet waited for.
    #[allow(unsafe_code)]
    let sent = unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    assert_eq!(sent, 0, "{}", std::io::Error::last_os_error());
}
