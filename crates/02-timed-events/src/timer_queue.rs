//! The schedule: items ordered by wake-up time, earliest first, and items due
//! at the same time in the order they were scheduled.
//!
//! Mirrors `BaseEventLoop._scheduled` in CPython's `asyncio/base_events.py`: a
//! list kept as a heap by `heapq`, ordered by `TimerHandle._when` alone
//! (`asyncio/events.py`, `TimerHandle.__lt__`). `heapq` is not stable, so
//! CPython may run two handles with the very same `when` in either order. Ours
//! keys every entry on `(when, sequence number)`: ties run first-in, first-out.
//!
//! Three implementations of one interface, [`Schedule`]: the source's first
//! idea, a [`SortedList`]; the one asyncio uses, a binary [`Heap`]; and the
//! one our loop uses, a [`RadixHeap`], which is faster on large schedules
//! because it relies on a fact the others ignore: a loop's clock never runs
//! backwards.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, VecDeque};

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
    /// The earliest entry, without removing it. (`&mut`, because a
    /// schedule may tidy itself up to find it: see [`RadixHeap`].)
    fn peek(&mut self) -> Option<(Key, &T)>;
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

    fn peek(&mut self) -> Option<(Key, &T)> {
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

    fn peek(&mut self) -> Option<(Key, &T)> {
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

// ANCHOR: radix_heap
/// A radix heap: a schedule for a clock that never runs backwards.
///
/// Entries are kept in 65 buckets by how far their time is from `last`, the
/// time of the earliest entry found so far: bucket `i > 0` holds the times
/// whose highest bit differing from `last` is bit `i - 1`, and bucket 0 the
/// times equal to `last`, in arrival order. `push` is a bit trick and an
/// append. When bucket 0 runs dry, the loop's clock has moved on: `last`
/// becomes the earliest time in the first non-empty bucket, and that bucket's
/// entries are redistributed, each into a lower bucket. An entry can only
/// move down, so it moves at most 64 times in its life, and every move is a
/// sequential scan of a vector: no pointer chasing, few cache misses. A
/// binary heap instead walks a path from the root to a leaf on every `pop`,
/// which, past a few hundred thousand entries, misses the cache at every step.
///
/// Ties in the buckets stay first-in, first-out without any sorting. Moving
/// `last` up to a time in the nearest bucket does not change which bucket
/// any entry of the *other* buckets belongs in (the new `last` agrees with
/// the old one on every bit above the nearest bucket's), so every entry is
/// always in the bucket its time calls for, and entries due at the same
/// time always share one. A bucket only ever grows at its end, so it keeps
/// the order its entries came in.
///
/// The one thing a radix heap cannot take is an entry earlier than `last`
/// (a timer set for a time the schedule has already moved past, such as
/// `call_later(-1)`). Those go to a small ordinary heap, `near`, and come out
/// first: they are all earlier than anything in the buckets. The nearest
/// bucket goes there too, once it holds no more than [`SMALL_BUCKET`]
/// entries, and `last` moves up to the latest of them.
#[derive(Debug)]
pub struct RadixHeap<T> {
    last: Nanos,
    /// Bucket 0: entries due at `last`, first in, first out.
    due: VecDeque<Entry<T>>,
    /// Buckets 1 to 64; `farther[i - 1]` is bucket `i`.
    farther: [Vec<Entry<T>>; 64],
    /// Bit `i - 1` set when bucket `i` has entries: finding the nearest
    /// non-empty bucket is then one instruction, not a walk over 64 vectors.
    occupied: u64,
    /// Entries due at or before `last`, served before `due`.
    near: BinaryHeap<Entry<T>>,
    /// An empty vector with room in it, swapped in for a bucket being refilled.
    spare: Vec<Entry<T>>,
    len: usize,
    pushed: u64,
}

/// The most entries a bucket may hold for a refill to hand them all to the
/// `near` heap rather than spread them out again. Of 0 (always spread out),
/// 4, 8, 16 and 32, 16 was the fastest with a million timers, taking about a
/// tenth fewer processor cycles per timer than 0.
pub const SMALL_BUCKET: usize = 16;

/// Which bucket a time belongs in, seen from `last`: 0 if equal, else one
/// more than the index of the highest bit in which the two differ.
fn bucket(last: Nanos, when: Nanos) -> usize {
    let differing = (last ^ when) as u64;
    (u64::BITS - differing.leading_zeros()) as usize
}

/// Which buckets have entries, as `RadixHeap::occupied` records it.
fn occupancy<T>(farther: &[Vec<Entry<T>>; 64]) -> u64 {
    (0..64)
        .filter(|&i| !farther[i].is_empty())
        .fold(0, |bits, i| bits | 1 << i)
}

impl<T> RadixHeap<T> {
    fn file(&mut self, entry: Entry<T>) {
        match bucket(self.last, entry.key.when) {
            0 => self.due.push_back(entry),
            i => {
                self.farther[i - 1].push(entry);
                self.occupied |= 1 << (i - 1);
            }
        }
    }

    /// Bucket 0 (and `near`) is empty: move `last` to the earliest time in
    /// the nearest bucket and spread that bucket out below it, or, if it is
    /// small, hand it to `near` whole.
    fn refill(&mut self) {
        if self.occupied == 0 {
            return;
        }
        let nearest = self.occupied.trailing_zeros() as usize;
        self.occupied &= !(1 << nearest);
        if self.farther[nearest].len() <= SMALL_BUCKET {
            // A few entries are quicker to order in a heap than to spread
            // out again and again, one refill per `pop`. They are the
            // earliest of all, so `last` can move up to the latest of them.
            let bucket = &mut self.farther[nearest];
            self.last = bucket.iter().map(|e| e.key.when).max().expect("non-empty");
            self.near.extend(bucket.drain(..));
            return;
        }
        // Swap the bucket with a spare vector rather than take it, so both
        // keep their memory: refills would otherwise allocate all the time.
        let mut entries = std::mem::take(&mut self.spare);
        std::mem::swap(&mut entries, &mut self.farther[nearest]);
        self.last = entries.iter().map(|e| e.key.when).min().expect("non-empty");
        for entry in entries.drain(..) {
            self.file(entry);
        }
        self.spare = entries;
    }

    // ANCHOR: upcoming
    /// Every item, roughly in the order they will come out: first those
    /// whose turn is next (`near`, then `due`), then the buckets, nearest
    /// first, each bucket in no particular order. The loop uses it to fetch
    /// its next callbacks' memory before it needs them.
    pub fn upcoming(&self) -> impl Iterator<Item = &T> {
        let mut occupied = self.occupied;
        let buckets = std::iter::from_fn(move || {
            let nearest = (occupied != 0).then(|| occupied.trailing_zeros() as usize)?;
            occupied &= occupied - 1; // clear the lowest set bit
            Some(&self.farther[nearest])
        });
        let due = self.near.iter().chain(&self.due);
        due.chain(buckets.flatten()).map(|e| &e.item)
    }
    // ANCHOR_END: upcoming
}

impl<T> Schedule<T> for RadixHeap<T> {
    fn push(&mut self, when: Nanos, item: T) -> Key {
        let key = Key {
            when,
            seq: self.pushed,
        };
        self.pushed += 1;
        self.len += 1;
        let entry = Entry { key, item };
        if when < self.last {
            self.near.push(entry);
        } else {
            self.file(entry);
        }
        key
    }

    fn peek(&mut self) -> Option<(Key, &T)> {
        if self.near.is_empty() && self.due.is_empty() {
            self.refill();
        }
        match self.near.peek() {
            Some(e) => Some((e.key, &e.item)),
            None => self.due.front().map(|e| (e.key, &e.item)),
        }
    }

    fn pop(&mut self) -> Option<(Key, T)> {
        self.peek()?;
        let entry = match self.near.pop() {
            Some(entry) => entry,
            None => self.due.pop_front().expect("peek found it"),
        };
        self.len -= 1;
        Some((entry.key, entry.item))
    }
    // ANCHOR_END: radix_heap

    /// O(n), as for the binary heap: keys are unique, so at most one goes.
    fn remove(&mut self, key: Key) -> Option<T> {
        let mut removed = None;
        let mut take = |entries: &mut Vec<Entry<T>>| {
            if let Some(at) = entries.iter().position(|e| e.key == key) {
                removed = Some(entries.remove(at).item);
            }
        };
        let mut near = std::mem::take(&mut self.near).into_vec();
        take(&mut near);
        self.near = BinaryHeap::from(near);
        let mut due = Vec::from(std::mem::take(&mut self.due));
        take(&mut due);
        self.due = VecDeque::from(due);
        self.farther.iter_mut().for_each(take);
        self.occupied = occupancy(&self.farther);
        self.len -= usize::from(removed.is_some());
        removed
    }

    fn retain(&mut self, mut keep: impl FnMut(&T) -> bool) {
        // In place: a compaction must not allocate a second schedule.
        self.near.retain(|e| keep(&e.item));
        self.due.retain(|e| keep(&e.item));
        for bucket in &mut self.farther {
            bucket.retain(|e| keep(&e.item));
        }
        self.occupied = occupancy(&self.farther);
        self.len =
            self.near.len() + self.due.len() + self.farther.iter().map(Vec::len).sum::<usize>();
    }

    fn len(&self) -> usize {
        self.len
    }
}

impl<T> Default for RadixHeap<T> {
    fn default() -> Self {
        Self {
            last: Nanos::MIN,
            due: VecDeque::new(),
            farther: std::array::from_fn(|_| Vec::new()),
            occupied: 0,
            near: BinaryHeap::new(),
            spare: Vec::new(),
            len: 0,
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
    fn all_pop_earliest_first_and_ties_in_arrival_order() {
        assert_eq!(drain(fill::<SortedList<_>>()), ORDER);
        assert_eq!(drain(fill::<Heap<_>>()), ORDER);
        assert_eq!(drain(fill::<RadixHeap<_>>()), ORDER);
    }

    /// A small random generator (xorshift), so the tests need no crate.
    fn random_times(n: usize, seed: u64, spread: i64) -> Vec<Nanos> {
        let mut state = seed;
        (0..n)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state % spread as u64) as Nanos - spread / 4
            })
            .collect()
    }

    #[test]
    fn the_radix_heap_agrees_with_the_binary_heap_while_pushes_and_pops_interleave() {
        // Times cluster (few distinct values, for most seeds) so that ties
        // are common, and some pushes land before `last`, in the radix
        // heap's `near` heap. The binary heap orders ties by `seq`; the
        // radix heap's buckets must match it without looking at `seq`.
        for seed in 1..40 {
            let spread = [4, 64, 1_000, 1 << 40][seed as usize % 4];
            let times = random_times(2_000, seed, spread);
            let (mut radix, mut heap) = (RadixHeap::default(), Heap::default());
            let (mut from_radix, mut from_heap) = (Vec::new(), Vec::new());
            for (i, &when) in times.iter().enumerate() {
                radix.push(when, i);
                heap.push(when, i);
                if i % 3 == 0 {
                    from_radix.push(radix.pop());
                    from_heap.push(heap.pop());
                }
                if i % 7 == 0 {
                    assert_eq!(
                        radix.peek().map(|(k, v)| (k, *v)),
                        heap.peek().map(|(k, v)| (k, *v))
                    );
                }
            }
            assert_eq!(from_radix, from_heap, "seed {seed}");
            assert_eq!(radix.len(), heap.len());
            assert_eq!(drain_all(radix), drain_all(heap), "seed {seed}");
        }
    }

    fn drain_all<S: Schedule<usize>>(mut schedule: S) -> Vec<(Key, usize)> {
        std::iter::from_fn(|| schedule.pop()).collect()
    }

    #[test]
    fn upcoming_lists_every_entry_once_starting_with_the_next() {
        let mut radix = RadixHeap::default();
        for (i, when) in random_times(1_000, 7, 1 << 40).into_iter().enumerate() {
            radix.push(when, i);
        }
        for _ in 0..100 {
            radix.pop();
        }
        let next = radix.peek().map(|(_, &i)| i);
        let mut upcoming: Vec<usize> = radix.upcoming().copied().collect();
        assert_eq!(upcoming.first().copied(), next);
        let mut popped: Vec<usize> = std::iter::from_fn(|| radix.pop().map(|(_, i)| i)).collect();
        upcoming.sort_unstable();
        popped.sort_unstable();
        assert_eq!(upcoming, popped);
    }

    #[test]
    fn the_radix_heap_takes_the_whole_range_of_times() {
        let mut radix = RadixHeap::default();
        for when in [
            Nanos::MAX,
            0,
            Nanos::MIN,
            -1,
            1,
            Nanos::MAX - 1,
            Nanos::MIN + 1,
        ] {
            radix.push(when, when);
        }
        let order: Vec<Nanos> = std::iter::from_fn(|| radix.pop().map(|(_, v)| v)).collect();
        assert_eq!(
            order,
            [
                Nanos::MIN,
                Nanos::MIN + 1,
                -1,
                0,
                1,
                Nanos::MAX - 1,
                Nanos::MAX
            ]
        );
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

    fn removes_exactly_one_entry<S: Schedule<&'static str> + Default>() {
        let mut schedule = S::default();
        let key = schedule.push(10, "x");
        schedule.push(10, "y");
        assert_eq!(schedule.remove(key), Some("x"));
        assert_eq!(schedule.remove(key), None);
        assert_eq!(schedule.len(), 1);
        assert_eq!(drain(schedule), [(10, "y")]);
    }

    #[test]
    fn remove_takes_out_exactly_one_entry() {
        removes_exactly_one_entry::<SortedList<_>>();
        removes_exactly_one_entry::<Heap<_>>();
        removes_exactly_one_entry::<RadixHeap<_>>();
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
        let mut radix: RadixHeap<&str> = fill();
        assert_eq!(radix.peek().map(|(k, i)| (k.when, *i)), Some((-5, "past")));
        radix.retain(|name| name.starts_with('a'));
        assert_eq!(radix.len(), 3);
        assert_eq!(drain(radix), [(10, "a1"), (10, "a2"), (10, "a3")]);
    }
}
