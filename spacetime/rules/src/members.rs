//! The members of a JSON object: unique keys in insertion order, found without a scan.
//!
//! Delta operations address object members by key. With the members in a plain list, setting,
//! finding or deleting one scanned the list, so a version's n operations on an object of m
//! members cost O(n * m): 10,000 new keys on an object of 40,000 took seconds of reducer time,
//! and a few more ran out of energy. [`Members`] keeps the order a Python dict keeps (the
//! delta layer's semantics, and what `json::to_ordered` writes) and finds a key through an
//! index once there are more than a few.

use std::collections::HashMap;

use crate::json::Value;

/// An object with at most this many slots finds a key by a scan; a larger one keeps an index.
const LINEAR_MEMBERS: usize = 8;

/// An object's members: unique keys in insertion order, as a Python dict keeps them (setting an
/// existing key keeps its place, a new key goes last, removing one leaves the others in order).
///
/// A removed member leaves a hole, closed up once the holes outnumber the members, so setting,
/// finding and removing a member cost O(1) on average. Two values are equal when they hold the
/// same members in the same order.
#[derive(Clone, Debug, Default)]
pub struct Members {
    /// The members in order; `None` where one was removed.
    slots: Vec<Option<(String, Value)>>,
    /// Each live member's slot, while there are more than [`LINEAR_MEMBERS`] slots.
    index: HashMap<String, usize>,
    /// The number of members (slots that are not holes).
    live: usize,
}

impl Members {
    /// No members.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether `key` is a member.
    pub fn contains_key(&self, key: &str) -> bool {
        self.slot_of(key).is_some()
    }

    /// The value of member `key`, if present.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Value> {
        let slot = self.slot_of(key)?;
        self.slots[slot].as_mut().map(|(_, value)| value)
    }

    /// Sets member `key` to `value`: in its place when present, else last.
    pub fn insert(&mut self, key: String, value: Value) {
        match self
            .slot_of(&key)
            .and_then(|slot| self.slots[slot].as_mut())
        {
            Some((_, present)) => *present = value,
            None => self.push_new(key, value),
        }
    }

    /// Appends member `key`, which the caller knows is not present (the parser, which refuses
    /// a repeated key, checks with [`Members::contains_key`] first).
    pub fn push_new(&mut self, key: String, value: Value) {
        let slot = self.slots.len();
        if slot == LINEAR_MEMBERS {
            self.rebuild_index();
        }
        if slot >= LINEAR_MEMBERS {
            self.index.insert(key.clone(), slot);
        }
        self.slots.push(Some((key, value)));
        self.live += 1;
    }

    /// Removes member `key`; its value, or `None` when it is not a member.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        let slot = self.slot_of(key)?;
        let (_, value) = self.slots[slot].take()?;
        self.index.remove(key);
        self.live -= 1;
        if self.slots.len() - self.live > self.live.max(LINEAR_MEMBERS) {
            self.slots.retain(Option::is_some);
            self.rebuild_index();
        }
        Some(value)
    }

    /// The members in order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Value)> {
        self.slots.iter().flatten().map(|(key, value)| (key, value))
    }

    /// The members' values in order.
    pub fn values(&self) -> impl Iterator<Item = &Value> {
        self.slots.iter().flatten().map(|(_, value)| value)
    }

    fn slot_of(&self, key: &str) -> Option<usize> {
        if self.slots.len() > LINEAR_MEMBERS {
            return self.index.get(key).copied();
        }
        self.slots
            .iter()
            .position(|slot| matches!(slot, Some((present, _)) if present == key))
    }

    /// Indexes the live members when there are more slots than a scan is kept for (else
    /// none: a scan finds them).
    fn rebuild_index(&mut self) {
        self.index.clear();
        if self.slots.len() < LINEAR_MEMBERS {
            return;
        }
        for (slot, member) in self.slots.iter().enumerate() {
            if let Some((key, _)) = member {
                self.index.insert(key.clone(), slot);
            }
        }
    }
}

impl PartialEq for Members {
    fn eq(&self, other: &Self) -> bool {
        self.live == other.live && self.iter().eq(other.iter())
    }
}

impl FromIterator<(String, Value)> for Members {
    /// The members in order, a repeated key setting the first one's value in its place.
    fn from_iter<I: IntoIterator<Item = (String, Value)>>(members: I) -> Self {
        let mut all = Members::new();
        for (key, value) in members {
            all.insert(key, value);
        }
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(members: &Members) -> Vec<&str> {
        members.iter().map(|(key, _)| key.as_str()).collect()
    }

    /// The plain list the members replace, with the same operations: the model to agree with.
    #[derive(Default)]
    struct Model(Vec<(String, Value)>);

    impl Model {
        fn insert(&mut self, key: &str, value: i64) {
            match self.0.iter_mut().find(|(k, _)| k == key) {
                Some((_, v)) => *v = Value::Integer(value),
                None => self.0.push((key.to_string(), Value::Integer(value))),
            }
        }

        fn remove(&mut self, key: &str) -> Option<Value> {
            let at = self.0.iter().position(|(k, _)| k == key)?;
            Some(self.0.remove(at).1)
        }
    }

    #[test]
    fn keys_keep_python_dict_order() {
        let mut members: Members = [("b", 1), ("a", 2), ("c", 3)]
            .into_iter()
            .map(|(k, v)| (k.to_string(), Value::Integer(v)))
            .collect();
        members.insert("a".into(), Value::Integer(9));
        assert_eq!(keys(&members), ["b", "a", "c"]);
        assert_eq!(members.remove("b"), Some(Value::Integer(1)));
        members.insert("b".into(), Value::Integer(4));
        assert_eq!(keys(&members), ["a", "c", "b"]);
        assert_eq!(members.get_mut("a"), Some(&mut Value::Integer(9)));
        assert_eq!(members.remove("missing"), None);
        assert_eq!(members.iter().count(), 3);
    }

    #[test]
    fn every_operation_agrees_with_a_plain_list_through_index_builds_and_compactions() {
        // A fixed pseudo-random walk (a linear congruential generator) over a few hundred
        // keys: objects grow past the scan limit, shrink below it and grow again, and holes
        // are closed up many times.
        let mut members = Members::new();
        let mut model = Model::default();
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        for step in 0..40_000_i64 {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            // Wide for 5,000 steps, narrow for the next 5,000, and so on.
            let spread = [300, 12][usize::from((step / 5_000) % 2 == 1)];
            let key = format!("k{}", (state >> 33) % spread);
            if (state >> 20).is_multiple_of(3) {
                assert_eq!(members.remove(&key), model.remove(&key), "step {step}");
            } else {
                members.insert(key.clone(), Value::Integer(step));
                model.insert(&key, step);
            }
            assert_eq!(members.iter().count(), model.0.len(), "step {step}");
            assert_eq!(
                members.contains_key(&key),
                model.0.iter().any(|(k, _)| *k == key)
            );
        }
        let expected: Members = model.0.into_iter().collect();
        assert_eq!(members, expected);
    }

    #[test]
    fn equality_is_by_members_in_order() {
        let ab: Members = [("a", 1), ("b", 2)]
            .into_iter()
            .map(|(k, v)| (k.to_string(), Value::Integer(v)))
            .collect();
        let ba: Members = [("b", 2), ("a", 1)]
            .into_iter()
            .map(|(k, v)| (k.to_string(), Value::Integer(v)))
            .collect();
        let mut removed = ab.clone();
        removed.insert("c".into(), Value::Null);
        removed.remove("c");
        assert_eq!(ab, removed);
        assert_ne!(ab, ba);
    }
}
