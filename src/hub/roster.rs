//! The online names, sorted the way `welcome` lists them and kept encoded.

use std::collections::BTreeMap;
use std::sync::Arc;

/// The online names in the order `welcome` lists them (case-insensitive,
/// then exact), each already JSON-encoded. Every connect sends the whole
/// list, so it is kept sorted as names come and go and is only
/// concatenated: sorting it per connect made a storm of N connects cost
/// O(N² log N) lowercase allocations under the hub lock.
#[derive(Default)]
pub struct Roster {
    sorted: BTreeMap<(String, Arc<str>), String>,
}

impl Roster {
    fn key(name: &Arc<str>) -> (String, Arc<str>) {
        (name.to_lowercase(), name.clone())
    }

    pub fn insert(&mut self, name: &Arc<str>) {
        let json = serde_json::to_string(&**name).expect("strings serialize");
        self.sorted.insert(Roster::key(name), json);
    }

    pub fn remove(&mut self, name: &Arc<str>) {
        self.sorted.remove(&Roster::key(name));
    }

    pub fn to_json(&self) -> String {
        json_array(self.sorted.values().map(String::as_str))
    }

    /// The online name that is `name` in any letter case.
    pub fn find(&self, name: &str) -> Option<&Arc<str>> {
        let lower = name.to_lowercase();
        let from = (lower.clone(), Arc::<str>::from(""));
        let ((found, exact), _) = self.sorted.range(from..).next()?;
        (*found == lower).then_some(exact)
    }

    /// Up to `limit` names whose lowercase starts with `lower_prefix`, as a
    /// JSON array.
    pub fn starting_with(&self, lower_prefix: &str, limit: usize) -> String {
        let from = (lower_prefix.to_owned(), Arc::<str>::from(""));
        json_array(
            self.sorted
                .range(from..)
                .take_while(|((lower, _), _)| lower.starts_with(lower_prefix))
                .take(limit)
                .map(|(_, json)| json.as_str()),
        )
    }
}

/// Roster order, each name once.
pub fn sort_names(names: &mut Vec<&Arc<str>>) {
    names.sort_by_cached_key(|name| Roster::key(name));
    names.dedup();
}

/// Joins encoded JSON values into an array.
fn json_array<'a>(values: impl Iterator<Item = &'a str> + Clone) -> String {
    let len: usize = values.clone().map(|json| json.len() + 1).sum();
    let mut out = String::with_capacity(len + 2);
    out.push('[');
    for (i, json) in values.enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(json);
    }
    out.push(']');
    out
}
