//! A waker that is a number.
//!
//! The textbook task's waker (`wake.rs`) points at an `Arc` made for the
//! task: one allocation per task, and an atomic count on every clone. A
//! `Waker` is only a pointer-sized word and four functions, though, and the
//! word need not point anywhere. Here it is the task's key (`key.rs`):
//! which loop, which slot of that loop's task table, and a tag from the
//! task's number. Cloning it copies the word; dropping it does nothing;
//! waking it looks the loop up on this thread (no system call) or, from
//! another thread, sends the wake through the loop's self-pipe
//! (`remotes.rs`), as the textbook waker does.
//!
//! A waker outlives its task harmlessly: a wake whose slot is empty, or
//! holds another task, does nothing; one whose loop has closed does
//! nothing either.

use std::ptr;
use std::task::{RawWaker, RawWakerVTable, Waker};

use super::key::TaskKey;
use super::{remotes, scheduler};

// ANCHOR: waker
/// The waker of the task at `key`: no allocation, no reference count.
pub(crate) fn waker(key: TaskKey) -> Waker {
    let raw = RawWaker::new(ptr::without_provenance(key.to_word()), &VTABLE);
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
    wake_task(TaskKey::from_word(word.addr()));
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
    let remote = remotes::remote_of(key.event_loop);
    if let Some(remote) = remote {
        // A loop that closed since has nothing left to wake; so be it.
        let _closed = remote.call_soon_threadsafe(move |_| {
            scheduler::wake_here(key);
        });
    }
}
// ANCHOR_END: wake_task

/// Miri runs these (`cargo +nightly miri test -p stage04-futures-tasks
/// --lib fast::waker`): they touch the waker's `unsafe` and nothing that
/// Miri cannot run (a selector loop's sockets).
#[cfg(test)]
mod tests {
    use super::*;
    use crate::tasks::TaskId;

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
