//! How a waker on another thread reaches a loop with fast tasks: the
//! loop's `Remote` (stage 3's `call_soon_threadsafe`), by the loop's key.
//! The textbook waker carries the remote itself; a fast waker, only a
//! number, finds it here.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use stage03_read_readiness::{Remote, SelectorEventLoop};

use super::key::LoopKey;

/// How a waker on another thread reaches each open loop with fast tasks:
/// its remote while it has tasks pending, `None` while it has none. A
/// remote held here keeps the loop waiting for other threads (stage 3's
/// `has_remotes`), as the textbook wakers' remotes do; a loop with no task
/// pending has nothing for them to wake, so it may find it has nothing to
/// wait for.
static REMOTES: Mutex<Registry> = Mutex::new(Registry::new());

struct Registry {
    remotes: Option<HashMap<LoopKey, Option<Remote<SelectorEventLoop>>>>,
    /// The next key to try.
    next: LoopKey,
}

impl Registry {
    const fn new() -> Self {
        Self {
            remotes: None,
            next: 0,
        }
    }
}

fn registry() -> MutexGuard<'static, Registry> {
    REMOTES.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A key for a new loop, free among the open loops; `None` if 2¹⁶ loops
/// with fast tasks are open at once.
pub(crate) fn register() -> Option<LoopKey> {
    let mut registry = registry();
    let start = registry.next;
    let mut key = start;
    // Keys go round: a key is used again as late as it can be, so that a
    // closed loop's stale wakers are unlikely to meet a new loop's task.
    while registry.remotes.get_or_insert_default().contains_key(&key) {
        key = key.wrapping_add(1);
        if key == start {
            return None;
        }
    }
    registry.next = key.wrapping_add(1);
    registry.remotes.get_or_insert_default().insert(key, None);
    Some(key)
}

/// Let wakers on other threads reach the loop with `key` through `remote`
/// (it has tasks pending), or not (`None`: it has none).
pub(crate) fn set_remote(key: LoopKey, remote: Option<Remote<SelectorEventLoop>>) {
    let replaced = registry()
        .remotes
        .get_or_insert_default()
        .insert(key, remote);
    // The remote replaced is dropped here, after the lock.
    drop(replaced);
}

/// Forget the loop with `key`: it closed.
pub(crate) fn unregister(key: LoopKey) {
    let removed = registry()
        .remotes
        .as_mut()
        .and_then(|remotes| remotes.remove(&key));
    drop(removed);
}

/// The remote of the loop with `key`, if it is open and has tasks pending.
pub(crate) fn remote_of(key: LoopKey) -> Option<Remote<SelectorEventLoop>> {
    let registry = registry();
    let remotes = registry.remotes.as_ref()?;
    remotes.get(&key).cloned().flatten()
}
