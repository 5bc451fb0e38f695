//! The fast loop's table of pending callbacks.
//!
//! CPython allocates a `Handle` object for every callback
//! (`asyncio/events.py`), and so does the textbook loop. The fast loop owns
//! one table of slots instead: a callback lives in a slot from `call_soon` or
//! `call_later` until it runs or is dropped, and the ready queue, the
//! schedule and every [`FastHandle`](super::FastHandle) name it by its slot.
//! Reusing slots saves an allocation and a free per callback, and keeps the
//! callbacks close together in memory; chapter 2's "Making it fast" shows
//! what that is worth with a million timers.

use std::panic::Location;

use super::prefetch::prefetch;
use crate::seconds::Nanos;

// ANCHOR: slots
/// Names one callback: a slot, and which of the callbacks that have used
/// that slot. A handle to a callback that has run (or was dropped) keeps an
/// old generation, so it can never touch the slot's next occupant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct SlotId {
    index: u32,
    generation: u32,
}

/// What a report about a callback says: when it was due and who scheduled it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Origin {
    pub(super) when: Option<Nanos>,
    pub(super) scheduled_at: &'static Location<'static>,
}

/// What the loop touches on every run of a callback, kept to 24 bytes: a
/// table of a million timers is still tens of megabytes, and every byte of a
/// slot is a byte fetched from memory when its timer fires.
struct Slot<C> {
    generation: u32,
    in_use: bool,
    cancelled: bool,
    /// A timer still in the loop's schedule, not yet moved to the ready queue.
    in_schedule: bool,
    callback: Option<C>,
}

/// Every callback that has been scheduled and has not yet run or been dropped.
pub(super) struct Slots<C> {
    slots: Vec<Slot<C>>,
    /// Where each slot's callback came from, beside the slots rather than in
    /// them: it is written once and read only to report a panic.
    origins: Vec<Origin>,
    /// Slots freed while others were still pending: reused first.
    free: Vec<u32>,
    /// Every slot from here to the end is free, and not in `free`: they are
    /// handed out in address order.
    unused_from: usize,
    /// How many slots hold a callback.
    pending: usize,
    /// asyncio's `_timer_cancelled_count`: cancelled timers still scheduled.
    cancelled_timers: usize,
}
// ANCHOR_END: slots

impl<C> Default for Slots<C> {
    fn default() -> Self {
        Self {
            slots: Vec::new(),
            origins: Vec::new(),
            free: Vec::new(),
            unused_from: 0,
            pending: 0,
            cancelled_timers: 0,
        }
    }
}

impl<C> Slots<C> {
    /// Store a callback; `in_schedule` says it is a timer going on the schedule.
    pub(super) fn insert(&mut self, callback: C, origin: Origin, in_schedule: bool) -> SlotId {
        let index = self.free.pop().unwrap_or_else(|| {
            if self.unused_from == self.slots.len() {
                self.slots.push(Slot {
                    generation: 0,
                    in_use: false,
                    cancelled: false,
                    in_schedule: false,
                    callback: None,
                });
                self.origins.push(origin);
            }
            self.unused_from += 1;
            u32::try_from(self.unused_from - 1).expect("fewer than 2^32 callbacks at once")
        });
        self.pending += 1;
        self.origins[index as usize] = origin;
        let slot = &mut self.slots[index as usize];
        slot.callback = Some(callback);
        slot.in_use = true;
        slot.cancelled = false;
        slot.in_schedule = in_schedule;
        SlotId {
            index,
            generation: slot.generation,
        }
    }

    fn slot(&mut self, id: SlotId) -> Option<&mut Slot<C>> {
        self.slots
            .get_mut(id.index as usize)
            .filter(|slot| slot.generation == id.generation && slot.in_use)
    }

    /// Cancel a callback that has not run. Returns the callback, for the
    /// caller to drop once it no longer borrows the table: dropping it may
    /// run arbitrary code (whatever the callback captured).
    pub(super) fn cancel(&mut self, id: SlotId) -> Option<C> {
        let slot = self.slot(id)?;
        if slot.cancelled {
            return None;
        }
        slot.cancelled = true;
        let callback = slot.callback.take();
        if slot.in_schedule {
            self.cancelled_timers += 1;
        }
        callback
    }

    /// Whether a pending callback was cancelled (a stale id counts as gone).
    pub(super) fn is_cancelled(&mut self, id: SlotId) -> bool {
        self.slot(id).is_none_or(|slot| slot.cancelled)
    }

    /// How many cancelled timers are still in the schedule.
    pub(super) fn cancelled_timers(&self) -> usize {
        self.cancelled_timers
    }

    /// A timer left the schedule for the ready queue. Returns `false` if it
    /// was cancelled, in which case its slot is freed and it goes nowhere.
    pub(super) fn leave_schedule(&mut self, id: SlotId) -> bool {
        let Some(slot) = self.slot(id) else {
            return false;
        };
        slot.in_schedule = false;
        if slot.cancelled {
            self.cancelled_timers -= 1;
            self.free(id);
            return false;
        }
        true
    }

    /// Every pending callback, taken out of its slot, which stays marked
    /// cancelled (so that its handle says so): the loop is closing.
    pub(super) fn take_all(&mut self) -> Vec<C> {
        let pending = self.slots.iter_mut().filter(|slot| slot.in_use);
        let taken = pending.filter_map(|slot| {
            slot.cancelled = true;
            slot.callback.take()
        });
        taken.collect()
    }

    /// Whether the callback `id` names is pending and was cancelled (by its
    /// handle, or by the loop's closing).
    pub(super) fn was_cancelled(&mut self, id: SlotId) -> bool {
        self.slot(id).is_some_and(|slot| slot.cancelled)
    }

    /// Take a callback out to run it: `None` if it was cancelled, and then
    /// its slot is freed. Otherwise the slot stays taken while the callback
    /// runs (so that `origin` still describes it), until [`release`](Self::release).
    pub(super) fn take(&mut self, id: SlotId) -> Option<C> {
        let callback = self.slot(id)?.callback.take();
        if callback.is_none() {
            self.free(id);
        }
        callback
    }

    /// Free the slot of a callback that has run.
    pub(super) fn release(&mut self, id: SlotId) {
        if self.slot(id).is_some() {
            self.free(id);
        }
    }

    /// Start fetching a callback's slot into the cache: the loop is about to
    /// need it.
    pub(super) fn prefetch(&self, id: SlotId) {
        if let Some(slot) = self.slots.get(id.index as usize) {
            prefetch(slot);
        }
    }

    /// Where a callback came from (valid until its slot is freed).
    pub(super) fn origin(&self, id: SlotId) -> Origin {
        self.origins[id.index as usize]
    }

    fn free(&mut self, id: SlotId) {
        let slot = &mut self.slots[id.index as usize];
        // After 2^32 reuses of one slot an ancient handle could match again;
        // it would take a program that keeps a handle that long to notice.
        slot.generation = slot.generation.wrapping_add(1);
        slot.in_use = false;
        slot.callback = None;
        self.pending -= 1;
        if self.pending == 0 {
            // Nothing pending: hand slots out in address order again, rather
            // than in the order timers happened to fire, so that the next
            // burst of callbacks lands in neighbouring memory. (Slots keep
            // their generations: old handles still cannot touch them.)
            self.free.clear();
            self.unused_from = 0;
        } else {
            self.free.push(id.index);
        }
    }

    /// How many slots hold a callback.
    #[cfg(test)]
    fn pending(&self) -> usize {
        self.pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin() -> Origin {
        Origin {
            when: Some(5),
            scheduled_at: Location::caller(),
        }
    }

    #[test]
    fn a_slot_is_reused_and_old_ids_cannot_touch_its_new_callback() {
        let mut table: Slots<fn()> = Slots::default();
        let first = table.insert(|| {}, origin(), false);
        assert!(table.take(first).is_some());
        table.release(first);
        let second = table.insert(|| {}, origin(), false);
        assert_eq!(second.index, first.index, "the slot was reused");
        assert!(table.cancel(first).is_none(), "a stale id cancels nothing");
        assert!(!table.is_cancelled(second));
        assert!(table.take(second).is_some());
        table.release(second);
        assert_eq!(table.pending(), 0);
    }

    #[test]
    fn once_nothing_is_pending_slots_are_handed_out_from_the_first_again() {
        let mut table: Slots<fn()> = Slots::default();
        let ids: Vec<_> = (0..4)
            .map(|_| table.insert(|| {}, origin(), false))
            .collect();
        for &id in &ids {
            assert!(table.take(id).is_some());
            table.release(id);
        }
        // Freeing the last one cost O(1): no list of free slots to rebuild,
        // however large the table grew.
        assert!(table.free.is_empty());
        let again: Vec<u32> = (0..3)
            .map(|_| table.insert(|| {}, origin(), false).index)
            .collect();
        assert_eq!(again, [0, 1, 2], "address order, not the order freed");
        assert!(
            table.cancel(ids[0]).is_none(),
            "an old id cannot reach slot 0"
        );
        assert_eq!(table.pending(), 3);
    }

    #[test]
    fn cancelled_timers_are_counted_until_they_leave_the_schedule() {
        let mut table: Slots<fn()> = Slots::default();
        let timer = table.insert(|| {}, origin(), true);
        let soon = table.insert(|| {}, origin(), false);
        assert!(table.cancel(timer).is_some());
        assert!(table.cancel(timer).is_none(), "twice: nothing more to drop");
        assert!(table.cancel(soon).is_some());
        assert_eq!(
            table.cancelled_timers(),
            1,
            "only timers in the schedule count"
        );
        assert!(!table.leave_schedule(timer));
        assert_eq!(table.cancelled_timers(), 0);
        assert!(
            table.take(soon).is_none(),
            "a cancelled callback does not run"
        );
        assert_eq!(table.pending(), 0);
    }
}
