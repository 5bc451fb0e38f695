//! What names a fast task from anywhere: its loop, its slot in the loop's
//! task table, and a tag from its number, packed into one 64-bit word, the
//! data word of its waker.
//!
//! The tag tells the task in a slot from one that had the slot before, so
//! a key that outlives its task names nothing: a wake through it does
//! nothing (or, once in 2²⁴ tasks through one slot, wakes a task
//! spuriously, which every Rust future must tolerate).

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

    /// The key as the one word a waker carries.
    pub(crate) fn to_word(self) -> usize {
        let word = u64::from(self.event_loop) << 48
            | (u64::from(self.slot) & LOW_24) << 24
            | u64::from(self.tag);
        word as usize // 64 bits: asserted above
    }

    /// The key a waker's word carries.
    pub(crate) fn from_word(word: usize) -> Self {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_survives_the_round_trip_through_the_word() {
        let task = TaskId::next();
        let key = TaskKey::new(LoopKey::MAX, (1 << 24) - 1, task);
        assert_eq!(TaskKey::from_word(key.to_word()), key);
        assert_eq!(key.tag, tag_of(task));
    }
}
