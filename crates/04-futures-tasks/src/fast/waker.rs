//! A waker that is a number.
//!
//! The textbook task's waker (`wake.rs`) points at an `Arc` made for the
//! task: one allocation per task, and an atomic count on every clone. A
//! `Waker` is only a pointer-sized word and four functions, though, and the
//! word need not point anywhere. Here it holds three numbers: which loop,
//! which slot of that loop's task table, and the low bits of the task's
//! number, which tell the task in the slot from one that had the slot
//! before. Cloning it copies the word; dropping it does nothing; waking it
//! looks the loop up on this thread (no system call) or, from another
//! thread, sends the wake through the loop's self-pipe, as the textbook
//! waker does.
//!
//! A waker outlives its task harmlessly: a wake whose slot is empty, or
//! holds another task, does nothing; one whose loop has closed does
//! nothing either.

use std::collections::HashMap;
use std::ptr;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::task::{RawWaker, RawWakerVTable, Waker};

use stage03_read_readiness::{Remote, SelectorEventLoop};

use super::scheduler;
use crate::tasks::TaskId;

const _: () = assert!(
    usize::BITS == 64,
    "a fast task's waker packs 64 bits into its data word"
);

/// A loop's number among the loops that run fast tasks.
pub(crate) type LoopKey = u16;

// ANCHOR: task_key
/// What a fast task's waker holds, packed into the waker's one word:
/// 16 bits of loop, 24 of slot, 24 of task number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TaskKey {
    pub(crate) event_loop: LoopKey,
    pub(crate) slot: u32,
    /// The task's number, modulo 2²⁴.
    pub(crate) tag: u32,
}

/// The most tasks one loop can hold at once: 2²⁴.
pub(crate) const SLOTS: usize = 1 << 24;
const LOW_24: u64 = (1 << 24) - 1;

impl TaskKey {
    pub(crate) fn new(event_loop: LoopKey, slot: u32, task: TaskId) -> Self {
        Self {
            event_loop,
            slot,
            tag: tag_of(task),
        }
    }

    fn pack(self) -> usize {
        let word = u64::from(self.event_loop) << 48
            | (u64::from(self.slot) & LOW_24) << 24
            | u64::from(self.tag);
        word as usize // 64 bits: asserted above
    }

    fn unpack(word: usize) -> Self {
        let word = word as u64;
        Self {
            event_loop: (word >> 48) as LoopKey,
            slot: ((word >> 24) & LOW_24) as u32,
            tag: (word & LOW_24) as u32,
        }
    }
}

/// The low 24 bits of a task's number, as its waker carries them.
pub(crate) fn tag_of(task: TaskId) -> u32 {
    (task.get() & LOW_24) as u32
}
// ANCHOR_END: task_key

// ANCHOR: waker
/// The waker of the task at `key`: no allocation, no reference count.
pub(crate) fn waker(key: TaskKey) -> Waker {
    let raw = RawWaker::new(ptr::without_provenance(key.pack()), &VTABLE);
    // SAFETY: `Waker::from_raw` asks that the vtable's functions honour
    // `RawWaker`'s contract and be safe to call from any thread. None of
    // them dereferences the data word (it is a number, made without
    // provenance); `clone_word` hands back the same word, `drop_word` has
    // nothing to free, and `wake_word` reads only this thread's locals and
    // a `Mutex`. (Miri runs this module's tests.)
    #[allow(unsafe_code)]
    unsafe {
        Waker::from_raw(raw)
    }
}

static VTABLE: RawWakerVTable = RawWakerVTable::new(clone_word, wake_word, wake_word, drop_word);

fn clone_word(word: *const ()) -> RawWaker {
    RawWaker::new(word, &VTABLE)
}

fn wake_word(word: *const ()) {
    wake_task(TaskKey::unpack(word.addr()));
}

fn drop_word(_: *const ()) {}
// ANCHOR_END: waker

// ANCHOR: wake_task
/// Queue the next step of the task at `key`: on this thread if its loop
/// lives here, else through the loop's self-pipe, to do it there.
fn wake_task(key: TaskKey) {
    if scheduler::wake_here(key) {
        return;
    }
    let remote = registry()
        .remotes
        .as_ref()
        .and_then(|remotes| remotes.get(&key.event_loop).cloned().flatten());
    if let Some(remote) = remote {
        // A loop that closed since has nothing left to wake; so be it.
        let _closed = remote.call_soon_threadsafe(move |_| {
            scheduler::wake_here(key);
        });
    }
}
// ANCHOR_END: wake_task

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

/// Miri runs these (`cargo +nightly miri test -p stage04-futures-tasks
/// --lib fast::waker`): they touch the waker's `unsafe` and nothing that
/// Miri cannot run (a selector loop's sockets).
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_survives_the_round_trip_through_the_word() {
        let task = TaskId::next();
        let key = TaskKey::new(LoopKey::MAX, (1 << 24) - 1, task);
        assert_eq!(TaskKey::unpack(key.pack()), key);
        assert_eq!(key.tag, tag_of(task));
    }

    #[test]
    fn a_waker_for_no_loop_can_be_cloned_woken_and_dropped() {
        let key = TaskKey::new(7, 3, TaskId::next());
        let waker = waker(key);
        let clone = waker.clone();
        assert!(clone.will_wake(&waker), "a clone is the same word");
        waker.wake_by_ref(); // no loop has key 7 here: nothing to do
        waker.wake();
        drop(clone);
    }
}
