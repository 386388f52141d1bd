//! A typed map for passing data from one step to the next.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;

use crate::mutator::lock;

/// Data that one step leaves for later ones, keyed by type (one value per type).
///
/// A provider defines a small type per hand-over (`struct PkiPaths { … }`, `struct NodeIps(Vec<…>)`);
/// the step that produces it calls [`Extensions::insert`], later steps call [`Extensions::get`].
/// Because re-runs start with an empty map, steps must be able to rediscover what they need
/// (from labels, files), which `is_done` has to do anyway.
#[derive(Default)]
pub struct Extensions {
    values: Mutex<HashMap<TypeId, Box<dyn Any + Send + Sync>>>,
}

impl Extensions {
    /// Stores `value`, returning the value of the same type it replaces.
    pub fn insert<T: Send + Sync + 'static>(&self, value: T) -> Option<T> {
        lock(&self.values)
            .insert(TypeId::of::<T>(), Box::new(value))
            .and_then(|old| old.downcast::<T>().ok())
            .map(|old| *old)
    }

    /// A copy of the stored value of type `T`, if a step has inserted one.
    pub fn get<T: Clone + Send + Sync + 'static>(&self) -> Option<T> {
        lock(&self.values)
            .get(&TypeId::of::<T>())
            .and_then(|value| value.downcast_ref::<T>())
            .cloned()
    }

    /// Takes the stored value of type `T` out of the map.
    pub fn remove<T: Send + Sync + 'static>(&self) -> Option<T> {
        lock(&self.values)
            .remove(&TypeId::of::<T>())
            .and_then(|value| value.downcast::<T>().ok())
            .map(|value| *value)
    }

    /// Whether a value of type `T` is stored.
    pub fn contains<T: Send + Sync + 'static>(&self) -> bool {
        lock(&self.values).contains_key(&TypeId::of::<T>())
    }
}

impl fmt::Debug for Extensions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Extensions")
            .field("len", &lock(&self.values).len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::Extensions;

    #[derive(Debug, Clone, PartialEq)]
    struct PkiDir(String);

    #[derive(Debug, Clone, PartialEq)]
    struct NodeCount(u32);

    #[test]
    fn values_of_different_types_live_side_by_side() {
        let ext = Extensions::default();
        ext.insert(PkiDir("/tmp/pki".into()));
        ext.insert(NodeCount(3));
        assert_eq!(ext.get::<PkiDir>(), Some(PkiDir("/tmp/pki".into())));
        assert_eq!(ext.get::<NodeCount>(), Some(NodeCount(3)));
    }

    #[test]
    fn insert_replaces_and_returns_the_previous_value_of_that_type() {
        let ext = Extensions::default();
        assert_eq!(ext.insert(NodeCount(1)), None);
        assert_eq!(ext.insert(NodeCount(2)), Some(NodeCount(1)));
        assert_eq!(ext.get::<NodeCount>(), Some(NodeCount(2)));
    }

    #[test]
    fn remove_takes_the_value_out() {
        let ext = Extensions::default();
        ext.insert(NodeCount(5));
        assert_eq!(ext.remove::<NodeCount>(), Some(NodeCount(5)));
        assert!(!ext.contains::<NodeCount>());
        assert_eq!(ext.get::<NodeCount>(), None);
    }
}
