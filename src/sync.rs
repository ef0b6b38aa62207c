//! The one way this crate takes a lock.

use std::sync::{Mutex, MutexGuard};

/// Locks `mutex`, carrying on if a thread panicked while holding it. Every
/// critical section in lanchat leaves its data consistent before anything
/// that could panic, so a bug in one request need not take the server down.
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
