//! A value read on every message and replaced now and then (configuration, directory):
//! readers take a cheap `Arc` clone, a writer swaps the whole value.

use std::sync::{Arc, RwLock};

/// A shared, replaceable value.
#[derive(Debug)]
pub struct Shared<T> {
    current: Arc<RwLock<Arc<T>>>,
}

impl<T> Clone for Shared<T> {
    fn clone(&self) -> Self {
        Self { current: self.current.clone() }
    }
}

impl<T> Shared<T> {
    /// Wraps an initial value.
    pub fn new(value: T) -> Self {
        Self { current: Arc::new(RwLock::new(Arc::new(value))) }
    }

    /// The current value. A writer that panicked cannot have left a half-made value (the
    /// swap is one assignment), so a poisoned lock is still read.
    pub fn get(&self) -> Arc<T> {
        match self.current.read() {
            Ok(v) => v.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Replaces the value.
    pub fn set(&self, value: T) {
        match self.current.write() {
            Ok(mut v) => *v = Arc::new(value),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(value),
        }
    }
}
