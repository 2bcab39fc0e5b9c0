//! [`Map`]: the fields of an object, as a vector sorted by name.
//!
//! Documents are decoded by the million and most live for one batch. Convex
//! writes fields sorted, so a decoded object is already in order: a sorted
//! vector costs one check to build and one allocation to hold, where a
//! `BTreeMap` built and dropped its nodes for every object (about a tenth of
//! `migrate`'s instructions). Objects are small (at most 1024 fields), so
//! binary search and shifting inserts are cheap.

use std::fmt;

use super::Value;

/// An object's fields, sorted bytewise by name without duplicates: the
/// order Convex stores and exports them in.
#[derive(Clone, Default, PartialEq)]
pub struct Map(Vec<(String, Value)>);

impl Map {
    pub fn new() -> Map {
        Map(Vec::new())
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn find(&self, key: &str) -> Result<usize, usize> {
        self.0
            .binary_search_by(|(k, _)| k.as_bytes().cmp(key.as_bytes()))
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.find(key).ok().map(|i| &self.0[i].1)
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut Value> {
        self.find(key).ok().map(|i| &mut self.0[i].1)
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.find(key).is_ok()
    }

    /// Sets `key` to `value`; returns the value it replaced.
    pub fn insert(&mut self, key: String, value: Value) -> Option<Value> {
        // Fields mostly come in order: appending needs no search.
        if self
            .0
            .last()
            .is_none_or(|(last, _)| last.as_bytes() < key.as_bytes())
        {
            self.0.push((key, value));
            return None;
        }
        match self.find(&key) {
            Ok(i) => Some(std::mem::replace(&mut self.0[i].1, value)),
            Err(i) => {
                self.0.insert(i, (key, value));
                None
            }
        }
    }

    pub fn remove(&mut self, key: &str) -> Option<Value> {
        self.find(key).ok().map(|i| self.0.remove(i).1)
    }

    pub fn retain(&mut self, mut keep: impl FnMut(&String, &mut Value) -> bool) {
        self.0.retain_mut(|(k, v)| keep(k, v));
    }

    pub fn iter(&self) -> Iter<'_> {
        Iter(self.0.iter())
    }

    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &String> + ExactSizeIterator {
        self.0.iter().map(|(k, _)| k)
    }

    pub fn values(&self) -> impl DoubleEndedIterator<Item = &Value> + ExactSizeIterator {
        self.0.iter().map(|(_, v)| v)
    }
}

/// Builds a map from fields in any order; of repeated names the last wins,
/// as with repeated inserts. Sorted input (what Convex writes) is only
/// checked, not sorted.
impl<K: Into<String>> FromIterator<(K, Value)> for Map {
    fn from_iter<I: IntoIterator<Item = (K, Value)>>(iter: I) -> Map {
        Map::from(
            iter.into_iter()
                .map(|(k, v)| (k.into(), v))
                .collect::<Vec<_>>(),
        )
    }
}

/// [`Map::from_iter`] of the fields of a vector, in its allocation.
impl From<Vec<(String, Value)>> for Map {
    fn from(mut fields: Vec<(String, Value)>) -> Map {
        let sorted = fields.windows(2).all(|w| w[0].0 < w[1].0);
        if !sorted {
            // Stable: equal names stay in input order, so the last is the
            // one to keep.
            fields.sort_by(|a, b| a.0.cmp(&b.0));
            let mut out: Vec<(String, Value)> = Vec::with_capacity(fields.len());
            for field in fields {
                match out.last_mut() {
                    Some(last) if last.0 == field.0 => *last = field,
                    _ => out.push(field),
                }
            }
            fields = out;
        }
        Map(fields)
    }
}

impl<K: Into<String>> Extend<(K, Value)> for Map {
    fn extend<I: IntoIterator<Item = (K, Value)>>(&mut self, iter: I) {
        for (k, v) in iter {
            self.insert(k.into(), v);
        }
    }
}

impl IntoIterator for Map {
    type Item = (String, Value);
    type IntoIter = std::vec::IntoIter<(String, Value)>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

/// The fields of a [`Map`] by reference, in name order.
pub struct Iter<'a>(std::slice::Iter<'a, (String, Value)>);

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a String, &'a Value);
    fn next(&mut self) -> Option<Self::Item> {
        self.0.next().map(|(k, v)| (k, v))
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.0.next_back().map(|(k, v)| (k, v))
    }
}

impl ExactSizeIterator for Iter<'_> {}

impl<'a> IntoIterator for &'a Map {
    type Item = (&'a String, &'a Value);
    type IntoIter = Iter<'a>;
    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

impl std::ops::Index<&str> for Map {
    type Output = Value;
    /// The value of `key`; panics if there is none, like `BTreeMap`.
    fn index(&self, key: &str) -> &Value {
        self.get(key).expect("no field with that name")
    }
}

/// Prints like a `BTreeMap` (`{"a": …}`), so messages built from it did
/// not change when objects stopped being one.
impl fmt::Debug for Map {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn f(x: f64) -> Value {
        Value::Float64(x)
    }

    #[test]
    fn behaves_like_a_btreemap() {
        // The same operations on both, in an order that exercises inserts
        // before, between and after, replacements and removals.
        let mut map = Map::new();
        let mut model: BTreeMap<String, Value> = BTreeMap::new();
        let names = [
            "m", "a", "z", "B", "é", "_id", "a", "aa", "", "m", "Z", "zz",
        ];
        for (i, name) in names.iter().enumerate() {
            assert_eq!(
                map.insert(name.to_string(), f(i as f64)),
                model.insert(name.to_string(), f(i as f64))
            );
            if i % 4 == 3 {
                let gone = names[i / 2];
                assert_eq!(map.remove(gone), model.remove(gone));
            }
            assert!(map.iter().eq(model.iter()));
            assert_eq!(map.len(), model.len());
            assert_eq!(format!("{map:?}"), format!("{model:?}"));
        }
        for name in names.iter().chain(&["q", "ab"]) {
            assert_eq!(map.get(name), model.get(*name));
            assert_eq!(map.contains_key(name), model.contains_key(*name));
        }
        map.retain(|k, _| k.len() != 1);
        model.retain(|k, _| k.len() != 1);
        assert!(map.clone().into_iter().eq(model.into_iter()));
    }

    #[test]
    fn collecting_sorts_and_keeps_the_last_of_repeated_names() {
        let input = [
            ("b", f(1.0)),
            ("a", f(2.0)),
            ("b", f(3.0)),
            ("c", f(4.0)),
            ("a", f(5.0)),
        ];
        let map: Map = input.iter().cloned().collect();
        let model: BTreeMap<&str, Value> = input.iter().cloned().collect();
        assert!(
            map.iter()
                .map(|(k, v)| (k.as_str(), v))
                .eq(model.iter().map(|(k, v)| (*k, v)))
        );
        let sorted: Map = [("a", f(1.0)), ("b", f(2.0))].into_iter().collect();
        assert_eq!(sorted.keys().collect::<Vec<_>>(), ["a", "b"]);
        // Bytewise order: uppercase before lowercase, `_` between them.
        let map: Map = [("a", f(0.0)), ("_", f(0.0)), ("B", f(0.0))]
            .into_iter()
            .collect();
        assert_eq!(map.keys().collect::<Vec<_>>(), ["B", "_", "a"]);
    }
}
