//! A signal that interrupts `select` or `poll` (EINTR) must not end the wait
//! early or turn into an error: the selector waits again for what is left of
//! the timeout, as Python does since PEP 475.
//!
//! Its own test binary, because it installs a signal handler for the whole
//! process.

use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use stage03_read_readiness::{Interest, PollSelector, SelectSelector, Selector};

static SIGNALS: AtomicUsize = AtomicUsize::new(0);

extern "C" fn count_signal(_: libc::c_int) {
    SIGNALS.fetch_add(1, Ordering::Relaxed);
}

/// Make SIGUSR1 call `count_signal`, without SA_RESTART: an interrupted
/// system call then fails with EINTR instead of being restarted.
fn install_handler() {
    // SAFETY: a zeroed `sigaction` is a valid "no flags, empty mask" value;
    // the handler only touches an atomic, which is async-signal-safe; and
    // both pointers passed to `sigaction` are valid for the call.
    #[allow(unsafe_code)]
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = count_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
        libc::sigemptyset(&mut action.sa_mask);
        assert_eq!(
            libc::sigaction(libc::SIGUSR1, &action, std::ptr::null_mut()),
            0
        );
    }
}

/// Wait 100 ms on a socket that never becomes ready, while another thread
/// signals this one every 2 ms.
fn wait_through_signals(mut selector: impl Selector<Data = ()>) {
    let (ours, _theirs) = UnixStream::pair().unwrap();
    selector
        .register(ours.as_raw_fd(), Interest::READ, ())
        .unwrap();

    // SAFETY: `pthread_self` has no preconditions.
    #[allow(unsafe_code)]
    let this_thread = unsafe { libc::pthread_self() };
    let done = Arc::new(AtomicBool::new(false));
    let signaller = {
        let done = Arc::clone(&done);
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                // SAFETY: the waiting thread outlives this loop (it joins
                // this thread), and SIGUSR1 has a handler installed.
                #[allow(unsafe_code)]
                unsafe {
                    libc::pthread_kill(this_thread, libc::SIGUSR1)
                };
                std::thread::sleep(Duration::from_millis(2));
            }
        })
    };

    let before = SIGNALS.load(Ordering::Relaxed);
    let start = Instant::now();
    let mut ready = Vec::new();
    let outcome = selector.select(Some(Duration::from_millis(100)), &mut ready);
    let waited = start.elapsed();
    done.store(true, Ordering::Relaxed);
    signaller.join().unwrap();

    assert!(
        outcome.is_ok(),
        "an interrupted wait became an error: {outcome:?}"
    );
    assert!(ready.is_empty());
    assert!(
        SIGNALS.load(Ordering::Relaxed) > before,
        "no signal arrived: nothing was tested"
    );
    // The kernel never ends a wait early; with the retry, neither do we.
    assert!(
        waited >= Duration::from_millis(100),
        "returned after {waited:?}"
    );
}

#[test]
fn select_and_poll_wait_out_their_timeout_through_signals() {
    install_handler();
    wait_through_signals(SelectSelector::new());
    wait_through_signals(PollSelector::new());
}
