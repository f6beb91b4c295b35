//! Deterministic ids: every id two processes must agree on (RDD, shuffle, broadcast,
//! accumulator, job) comes from program order within a scope, never from a counter that
//! threads race for.
//!
//! Code outside any scope (the main program) takes the next number of the context's own
//! sequence for that kind: 0, 1, 2, ... in the order the program creates things, the same
//! on every process that runs the program. Code inside a scope — the streaming engine
//! enters one per (stream, batch time) while it generates a stream's RDD, and one per
//! (output operation, batch time) while it runs an output's job — takes ids derived from
//! the scope and a sequence private to that scope, so two threads generating two batches
//! at once name everything the same whatever their timing. Scoped ids have the top bit
//! set, so they never meet the main program's.

use crate::partitioner::stable_hash;
use std::cell::RefCell;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A scope of id allocation (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IdScope {
    /// Generating the RDD of `stream` for the batch at `time_ms`.
    Stream {
        /// The component that owns the stream (its streaming context's
        /// [`crate::Context::new_scope_owner`] id), so two streaming contexts over one
        /// context never share a scope.
        owner: usize,
        /// The DStream id.
        stream: usize,
        /// The batch time.
        time_ms: i64,
    },
    /// Running output operation `output`'s job for the batch at `time_ms`.
    Output {
        /// The component that owns the output (see `Stream::owner`).
        owner: usize,
        /// The output operation's id (declaration order).
        output: usize,
        /// The batch time.
        time_ms: i64,
    },
    /// Any other deterministic scope, named by a value the caller derives from program
    /// order.
    Named(u64),
}

/// The kinds of ids, each with its own sequence in the main program.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum IdKind {
    Rdd = 0,
    Shuffle = 1,
    Broadcast = 2,
    Accumulator = 3,
    Job = 4,
    ScopeOwner = 5,
}

struct Frame {
    key: u64,
    next: u64,
}

thread_local! {
    static FRAMES: RefCell<Vec<Frame>> = const { RefCell::new(Vec::new()) };
}

const SCOPED_BIT: usize = 1 << (usize::BITS - 1);

/// Runs `f` with `scope` as the current thread's id scope. Scopes nest; an inner scope's
/// ids depend on it alone, not on the outer scope or how many ids it has handed out.
pub fn with_scope<R>(scope: IdScope, f: impl FnOnce() -> R) -> R {
    struct Pop;
    impl Drop for Pop {
        fn drop(&mut self) {
            FRAMES.with(|s| {
                s.borrow_mut().pop();
            });
        }
    }
    // Scopes are absolute: a stream's batch is named the same whichever thread, or
    // whichever output's job, first asks for it.
    let key = stable_hash(&scope);
    FRAMES.with(|s| s.borrow_mut().push(Frame { key, next: 0 }));
    let _pop = Pop;
    f()
}

/// The current thread's innermost scope key, if any (for tests and diagnostics).
pub fn current_scope_key() -> Option<u64> {
    FRAMES.with(|s| s.borrow().last().map(|f| f.key))
}

/// The main program's sequences, one per kind.
#[derive(Debug, Default)]
pub(crate) struct IdSequences {
    next: [AtomicUsize; 6],
}

impl IdSequences {
    /// The next id of `kind`: from the current scope if there is one, else from the main
    /// program's sequence.
    pub(crate) fn next(&self, kind: IdKind) -> usize {
        let scoped = FRAMES.with(|s| {
            let mut s = s.borrow_mut();
            s.last_mut().map(|f| {
                let seq = f.next;
                f.next += 1;
                stable_hash(&(f.key, kind as u8, seq))
            })
        });
        match scoped {
            Some(h) => (h as usize) | SCOPED_BIT,
            None => self.next[kind as usize].fetch_add(1, Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn main_sequence_counts_and_scopes_repeat() {
        let ids = IdSequences::default();
        assert_eq!(ids.next(IdKind::Rdd), 0);
        assert_eq!(ids.next(IdKind::Rdd), 1);
        assert_eq!(ids.next(IdKind::Shuffle), 0);
        let s = IdScope::Stream {
            owner: 0,
            stream: 3,
            time_ms: 2000,
        };
        let a: Vec<usize> = with_scope(s, || (0..3).map(|_| ids.next(IdKind::Rdd)).collect());
        let b: Vec<usize> = with_scope(s, || (0..3).map(|_| ids.next(IdKind::Rdd)).collect());
        assert_eq!(a, b, "the same scope names the same things");
        assert!(a.iter().all(|i| i & SCOPED_BIT != 0));
        let other = with_scope(
            IdScope::Stream {
                owner: 0,
                stream: 3,
                time_ms: 3000,
            },
            || ids.next(IdKind::Rdd),
        );
        assert_ne!(other, a[0]);
        // Nested scopes do not depend on the outer scope's progress.
        let inner1 = with_scope(
            IdScope::Output {
                owner: 0,
                output: 0,
                time_ms: 1,
            },
            || with_scope(s, || ids.next(IdKind::Rdd)),
        );
        let inner2 = with_scope(
            IdScope::Output {
                owner: 0,
                output: 0,
                time_ms: 1,
            },
            || {
                ids.next(IdKind::Rdd);
                with_scope(s, || ids.next(IdKind::Rdd))
            },
        );
        assert_eq!(inner1, inner2);
        // Outside every scope, the main sequence resumes.
        assert_eq!(ids.next(IdKind::Rdd), 2);
    }
}
