//! Signals, handled by the loop as ordinary callbacks.
//!
//! Mirrors `add_signal_handler`, `remove_signal_handler` and
//! `_handle_signal` of `_UnixSelectorEventLoop` in CPython's
//! `asyncio/unix_events.py`, and the `signal.set_wakeup_fd` they rely on.
//!
//! A signal interrupts its thread between any two instructions, even in
//! the middle of `malloc` or with a lock held: its handler may do only what
//! is async-signal-safe (`write(2)`, yes; allocate, lock, run a callback,
//! no). So the handler does one thing: it writes a byte to a socket the
//! loop watches. The byte wakes the loop, whose reader then runs the
//! callback like any other, on the loop's thread, between two callbacks.
//! Python's C handler writes the signal's number to the one wake-up socket
//! of `set_wakeup_fd`; here each signal has a socket pair of its own, so the
//! socket that is readable says which signal came, and the handler is
//! signal-hook's `pipe::register`, which sends one byte and nothing more.
//! Stage 3's self-pipe is left as it is: this socket is just a reader.
//!
//! Signals coalesce: several that come before the loop looks are one run
//! of the callback, as the kernel itself keeps at most one of a kind
//! pending.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::ffi::c_int;
use std::fmt;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use signal_hook::SigId;
use signal_hook::consts::FORBIDDEN;
use signal_hook::low_level::{self, pipe};
use stage03_read_readiness::{Interest, SelectorError, SelectorEventLoop, SelectorEvents};

/// Why a signal handler could not be added or removed.
#[derive(Debug)]
pub enum SignalError {
    /// Not a signal, or one no handler may take: SIGKILL and SIGSTOP,
    /// which the kernel keeps, and SIGSEGV, SIGILL and SIGFPE, which
    /// signal-hook keeps for crashes (asyncio: "invalid signal number",
    /// "sig N cannot be caught").
    CannotCatch(c_int),
    /// The loop is closed.
    Closed,
    /// The socket pair, or the signal's registration, failed.
    Io(io::Error),
}

// ANCHOR: add_signal_handler
/// asyncio's `loop.add_signal_handler(sig, callback)`: from now on, each
/// time `signal` comes, `callback` runs on the loop, as a callback of the
/// first iteration that sees the signal's byte. A second handler for the
/// same signal replaces the first. The signal no longer does what it did
/// by default (SIGINT and SIGTERM end the process) until
/// [`remove_signal_handler`] or the loop's `close`.
///
/// # Errors
/// [`SignalError::CannotCatch`] for a signal no handler may take,
/// [`SignalError::Closed`] once the loop is closed.
pub fn add_signal_handler(
    event_loop: &SelectorEventLoop,
    signal: c_int,
    callback: impl Fn(&SelectorEventLoop) + 'static,
) -> Result<(), SignalError> {
    check_signal(signal)?;
    let handlers = event_loop
        .attachment::<SignalHandlers>()
        .map_err(|_| SignalError::Closed)?;
    remove_signal_handler(event_loop, signal)?;
    let (receiver, sender) = UnixStream::pair().map_err(SignalError::Io)?;
    receiver.set_nonblocking(true).map_err(SignalError::Io)?;
    let reader = receiver.as_raw_fd();
    // Empty the socket first, then run the callback: a signal that comes
    // while it runs writes a byte that wakes the loop again, and is not
    // lost (signal-hook's advice for its pipes).
    event_loop
        .add_reader(reader, move |event_loop| {
            drain(&receiver);
            // Read until "would block": an edge-triggered selector (stage
            // 6's) must hear that the socket is empty.
            event_loop.would_block(reader, Interest::READ);
            callback(event_loop);
        })
        .map_err(|error| match error {
            SelectorError::Closed => SignalError::Closed,
            other => SignalError::Io(io::Error::other(other)),
        })?;
    match start_writing(signal, sender) {
        Ok(writes) => {
            let installed = Installed { reader, writes };
            handlers.installed.borrow_mut().insert(signal, installed);
            Ok(())
        }
        Err(error) => {
            event_loop.remove_reader(reader);
            Err(SignalError::Io(error))
        }
    }
}
// ANCHOR_END: add_signal_handler

// ANCHOR: remove_signal_handler
/// asyncio's `loop.remove_signal_handler(sig)`: `signal` does what it does
/// by default again (SIGINT and SIGTERM end the process). `true` if the
/// loop had a handler for it.
///
/// # Errors
/// [`SignalError::CannotCatch`] for a signal no handler may take.
pub fn remove_signal_handler(
    event_loop: &SelectorEventLoop,
    signal: c_int,
) -> Result<bool, SignalError> {
    check_signal(signal)?;
    let Ok(handlers) = event_loop.attachment::<SignalHandlers>() else {
        return Ok(false); // closed: `close` removed them all
    };
    let removed = handlers.installed.borrow_mut().remove(&signal);
    let Some(Installed { reader, writes }) = removed else {
        return Ok(false);
    };
    stop_writing(signal, writes);
    event_loop.remove_reader(reader); // which closes the socket
    Ok(true)
}
// ANCHOR_END: remove_signal_handler

/// Whether `event_loop` has a handler for `signal`.
pub fn has_signal_handler(event_loop: &SelectorEventLoop, signal: c_int) -> bool {
    event_loop
        .attachment::<SignalHandlers>()
        .is_ok_and(|handlers| handlers.installed.borrow().contains_key(&signal))
}

/// asyncio's `_check_signal`.
fn check_signal(signal: c_int) -> Result<(), SignalError> {
    if FORBIDDEN.contains(&signal) || low_level::signal_name(signal).is_none() {
        return Err(SignalError::CannotCatch(signal));
    }
    Ok(())
}

/// Read whatever bytes the signal handler wrote, without waiting.
fn drain(receiver: &UnixStream) {
    let mut bytes = [0; 64];
    let mut receiver = receiver;
    while receiver.read(&mut bytes).is_ok_and(|read| read > 0) {}
}

/// The signal handlers of one loop, kept with the loop (an attachment):
/// asyncio's `_signal_handlers`.
#[derive(Default)]
struct SignalHandlers {
    /// By signal: the descriptor the loop reads, and signal-hook's
    /// registration that writes to its other end.
    installed: RefCell<BTreeMap<c_int, Installed>>,
}

struct Installed {
    reader: RawFd,
    writes: SigId,
}

/// The loop closes (asyncio's `close` removes every handler): its readers
/// are gone already; the signals do what they do by default again.
impl Drop for SignalHandlers {
    fn drop(&mut self) {
        for (signal, Installed { writes, .. }) in self.installed.take() {
            stop_writing(signal, writes);
        }
    }
}

// ANCHOR: dispositions
/// What each signal does, for the whole process (as a signal's
/// disposition is): how many loops handle it, and the switch that makes
/// signal-hook run the signal's default action while none does. signal-hook
/// cannot hand the kernel its default back, so it runs what the default
/// would do (`emulate_default_handler`: for SIGINT, end the process as
/// SIGINT does).
static DISPOSITIONS: Mutex<BTreeMap<c_int, Disposition>> = Mutex::new(BTreeMap::new());

struct Disposition {
    loops: usize,
    default_action: Arc<AtomicBool>,
}

/// From now on `signal` writes a byte to `sender`, and no longer does its
/// default action.
fn start_writing(signal: c_int, sender: UnixStream) -> io::Result<SigId> {
    let mut dispositions = dispositions();
    let disposition = match dispositions.entry(signal) {
        Entry::Occupied(known) => known.into_mut(),
        Entry::Vacant(first) => {
            let default_action = Arc::new(AtomicBool::new(true));
            signal_hook::flag::register_conditional_default(signal, Arc::clone(&default_action))?;
            first.insert(Disposition {
                loops: 0,
                default_action,
            })
        }
    };
    // Writing first, then the default off: a signal in between does what
    // it did a moment ago, and is never lost.
    let writes = pipe::register(signal, sender)?;
    disposition.loops += 1;
    disposition.default_action.store(false, Ordering::SeqCst);
    Ok(writes)
}

/// `signal` no longer writes through `writes` (whose socket is closed);
/// if no loop handles it now, it does its default action again.
fn stop_writing(signal: c_int, writes: SigId) {
    let mut dispositions = dispositions();
    if let Some(disposition) = dispositions.get_mut(&signal) {
        disposition.loops -= 1;
        if disposition.loops == 0 {
            disposition.default_action.store(true, Ordering::SeqCst);
        }
    }
    low_level::unregister(writes);
}
// ANCHOR_END: dispositions

/// The table of dispositions. One whose holder panicked is still good:
/// each change to it is made in one step.
fn dispositions() -> MutexGuard<'static, BTreeMap<c_int, Disposition>> {
    DISPOSITIONS.lock().unwrap_or_else(PoisonError::into_inner)
}

impl fmt::Display for SignalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SignalError::CannotCatch(signal) => write!(f, "signal {signal} cannot be caught"),
            SignalError::Closed => write!(f, "the event loop is closed"),
            SignalError::Io(error) => write!(f, "cannot handle the signal: {error}"),
        }
    }
}

impl std::error::Error for SignalError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SignalError::Io(error) => Some(error),
            _ => None,
        }
    }
}
