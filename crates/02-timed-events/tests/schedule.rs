//! The schedules: the sorted list and the binary heap of the lesson, and the
//! fast loop's radix heap, which must agree with the binary heap on every
//! order, ties included.

use stage02_timed_events::fast::RadixHeap;
use stage02_timed_events::schedule::{Heap, Key, Schedule, SortedList};
use stage02_timed_events::seconds::Nanos;

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
    heap.retain(&mut |name: &&str| name.starts_with('a'));
    assert_eq!(heap.len(), 3);
    let mut list: SortedList<&str> = fill();
    list.retain(&mut |name: &&str| name.starts_with('a'));
    assert_eq!(drain(list), [(10, "a1"), (10, "a2"), (10, "a3")]);
    let mut radix: RadixHeap<&str> = fill();
    assert_eq!(radix.peek().map(|(k, i)| (k.when, *i)), Some((-5, "past")));
    radix.retain(&mut |name: &&str| name.starts_with('a'));
    assert_eq!(radix.len(), 3);
    assert_eq!(drain(radix), [(10, "a1"), (10, "a2"), (10, "a3")]);
}
