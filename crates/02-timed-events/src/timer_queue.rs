//! The schedule: items ordered by wake-up time, earliest first, and items due
//! at the same time in the order they were scheduled.
//!
//! Mirrors `BaseEventLoop._scheduled` in CPython's `asyncio/base_events.py`: a
//! list kept as a heap by `heapq`, ordered by `TimerHandle._when` alone
//! (`asyncio/events.py`, `TimerHandle.__lt__`). `heapq` is not stable, so
//! CPython may run two handles with the very same `when` in either order. Ours
//! keys every entry on `(when, sequence number)`: ties run first-in, first-out.
//!
//! Two implementations of one interface, [`Schedule`]: the source's first
//! idea, a [`SortedList`], and the one asyncio uses, a binary [`Heap`].

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use crate::seconds::Nanos;

/// Where an entry sits in the schedule's order: its time, then its arrival.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key {
    /// When the item is due.
    pub when: Nanos,
    /// How many items this schedule had been given before this one.
    pub seq: u64,
}

// ANCHOR: schedule
/// A schedule of items by wake-up time.
pub trait Schedule<T> {
    /// Add `item`, due at `when`. Returns its key, which can remove it.
    fn push(&mut self, when: Nanos, item: T) -> Key;
    /// The earliest entry, without removing it.
    fn peek(&self) -> Option<(Key, &T)>;
    /// Remove and return the earliest entry.
    fn pop(&mut self) -> Option<(Key, T)>;
    /// Remove the entry with this key, if it is still there.
    fn remove(&mut self, key: Key) -> Option<T>;
    /// Keep only the items for which `keep` says yes.
    fn retain(&mut self, keep: impl FnMut(&T) -> bool);
    /// How many entries there are.
    fn len(&self) -> usize;
    /// Whether there are none.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
// ANCHOR_END: schedule

#[derive(Debug)]
struct Entry<T> {
    key: Key,
    item: T,
}

// ANCHOR: sorted_list
/// The naive schedule: a vector kept sorted, latest first, so that the
/// earliest entry is at the end and `pop` is cheap. Each `push` shifts on
/// average half the vector to make room: O(n).
#[derive(Debug)]
pub struct SortedList<T> {
    entries: Vec<Entry<T>>,
    pushed: u64,
}

impl<T> Schedule<T> for SortedList<T> {
    fn push(&mut self, when: Nanos, item: T) -> Key {
        let key = Key {
            when,
            seq: self.pushed,
        };
        self.pushed += 1;
        // Latest first: the new entry goes after every later-or-equal key.
        let at = self.entries.partition_point(|e| e.key > key);
        self.entries.insert(at, Entry { key, item });
        key
    }

    fn peek(&self) -> Option<(Key, &T)> {
        self.entries.last().map(|e| (e.key, &e.item))
    }

    fn pop(&mut self) -> Option<(Key, T)> {
        self.entries.pop().map(|e| (e.key, e.item))
    }
    // ANCHOR_END: sorted_list

    fn remove(&mut self, key: Key) -> Option<T> {
        let at = self.entries.partition_point(|e| e.key > key);
        match self.entries.get(at) {
            Some(entry) if entry.key == key => Some(self.entries.remove(at).item),
            _ => None,
        }
    }

    fn retain(&mut self, mut keep: impl FnMut(&T) -> bool) {
        self.entries.retain(|e| keep(&e.item));
    }

    fn len(&self) -> usize {
        self.entries.len()
    }
}

impl<T> Default for SortedList<T> {
    fn default() -> Self {
        Self {
            entries: Vec::new(),
            pushed: 0,
        }
    }
}

// ANCHOR: heap
/// A binary min-heap on `(when, seq)`: `push` and `pop` are O(log n).
///
/// `std`'s `BinaryHeap` keeps the *greatest* element on top, so an entry
/// compares greater when its key is *smaller*: the earliest is on top.
#[derive(Debug)]
pub struct Heap<T> {
    entries: BinaryHeap<Entry<T>>,
    pushed: u64,
}

impl<T> PartialEq for Entry<T> {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl<T> Eq for Entry<T> {}

impl<T> PartialOrd for Entry<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<T> Ord for Entry<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        other.key.cmp(&self.key) // reversed: earliest on top
    }
}

impl<T> Schedule<T> for Heap<T> {
    fn push(&mut self, when: Nanos, item: T) -> Key {
        let key = Key {
            when,
            seq: self.pushed,
        };
        self.pushed += 1;
        self.entries.push(Entry { key, item });
        key
    }

    fn peek(&self) -> Option<(Key, &T)> {
        self.entries.peek().map(|e| (e.key, &e.item))
    }

    fn pop(&mut self) -> Option<(Key, T)> {
        self.entries.pop().map(|e| (e.key, e.item))
    }
    // ANCHOR_END: heap

    /// O(n): a heap can find an entry only by looking at all of them. This
    /// is why asyncio cancels lazily (see `EventLoop`), and why the
    /// benchmark measures this only up to 10^4 timers.
    fn remove(&mut self, key: Key) -> Option<T> {
        let mut removed = None;
        let entries = std::mem::take(&mut self.entries).into_vec();
        let mut kept = Vec::with_capacity(entries.len());
        for entry in entries {
            if entry.key == key {
                removed = Some(entry.item);
            } else {
                kept.push(entry);
            }
        }
        self.entries = BinaryHeap::from(kept);
        removed
    }

    fn retain(&mut self, mut keep: impl FnMut(&T) -> bool) {
        self.entries.retain(|e| keep(&e.item));
    }

    fn len(&self) -> usize {
        self.entries.len()
    }
}

impl<T> Default for Heap<T> {
    fn default() -> Self {
        Self {
            entries: BinaryHeap::new(),
            pushed: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain<S: Schedule<&'static str>>(mut schedule: S) -> Vec<(Nanos, &'static str)> {
        std::iter::from_fn(|| schedule.pop().map(|(key, item)| (key.when, item))).collect()
    }

    fn fill<S: Schedule<&'static str> + Default>() -> S {
        let mut schedule = S::default();
        for (when, name) in [
            (30, "c"),
            (10, "a1"),
            (20, "b"),
            (10, "a2"),
            (-5, "past"),
            (10, "a3"),
        ] {
            schedule.push(when, name);
        }
        schedule
    }

    const ORDER: [(Nanos, &str); 6] = [
        (-5, "past"),
        (10, "a1"),
        (10, "a2"),
        (10, "a3"),
        (20, "b"),
        (30, "c"),
    ];

    #[test]
    fn both_pop_earliest_first_and_ties_in_arrival_order() {
        assert_eq!(drain(fill::<SortedList<_>>()), ORDER);
        assert_eq!(drain(fill::<Heap<_>>()), ORDER);
    }

    #[test]
    fn many_equal_deadlines_stay_fifo_in_the_heap() {
        let mut heap = Heap::default();
        for i in 0..1000 {
            heap.push(7, i);
        }
        let order: Vec<i32> = std::iter::from_fn(|| heap.pop().map(|(_, i)| i)).collect();
        assert_eq!(order, (0..1000).collect::<Vec<_>>());
    }

    #[test]
    fn remove_takes_out_exactly_one_entry() {
        let mut list = SortedList::default();
        let mut heap = Heap::default();
        let list_key = list.push(10, "x");
        let heap_key = heap.push(10, "x");
        list.push(10, "y");
        heap.push(10, "y");
        assert_eq!(list.remove(list_key), Some("x"));
        assert_eq!(heap.remove(heap_key), Some("x"));
        assert_eq!(list.remove(list_key), None);
        assert_eq!(heap.remove(heap_key), None);
        assert_eq!(drain(list), [(10, "y")]);
        assert_eq!(drain(heap), [(10, "y")]);
    }

    #[test]
    fn peek_and_retain() {
        let mut heap: Heap<&str> = fill();
        assert_eq!(heap.peek().map(|(k, i)| (k.when, *i)), Some((-5, "past")));
        heap.retain(|name| name.starts_with('a'));
        assert_eq!(heap.len(), 3);
        let mut list: SortedList<&str> = fill();
        list.retain(|name| name.starts_with('a'));
        assert_eq!(drain(list), [(10, "a1"), (10, "a2"), (10, "a3")]);
    }
}
