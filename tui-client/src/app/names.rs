//! Account names the client has learnt (from presence and from lookups), for showing `alice`
//! where the wire has `4294967296`. Names never change for an id (ids are never reused and
//! accounts are not renamed), so the map only grows; a client meets few accounts. A name can
//! belong to two ids, though: an account deleted and its name registered again. Ids only grow,
//! so the newest is the largest: the name means it, and the older ones show their id.

use std::collections::{BTreeSet, HashMap};

use shared::UserId;

/// Known names by id.
#[derive(Debug, Default)]
pub struct Names {
    map: HashMap<UserId, String>,
    /// The ids that have had each name, oldest first.
    ids: HashMap<String, BTreeSet<UserId>>,
}

impl Names {
    /// Remember `id`'s name; whether it was new.
    pub fn learn(&mut self, id: UserId, name: String) -> bool {
        if let Some(old) = self.map.get(&id) {
            if *old == name {
                return false;
            }
            // Not expected (names do not change), but keep the index true.
            if let Some(ids) = self.ids.get_mut(old) {
                ids.remove(&id);
            }
        }
        self.ids.entry(name.clone()).or_default().insert(id);
        self.map.insert(id, name).is_none()
    }

    /// `id`'s name, if known.
    pub fn get(&self, id: UserId) -> Option<&str> {
        self.map.get(&id).map(String::as_str)
    }

    /// The id of the account called `name` (lower case), if known: the newest of those that
    /// had it.
    pub fn find(&self, name: &str) -> Option<UserId> {
        self.ids.get(name)?.last().copied()
    }

    /// Every name known.
    pub fn all(&self) -> impl Iterator<Item = &str> {
        self.ids.keys().map(String::as_str)
    }

    /// How `id` is shown: its name (with `#id` after it when a newer account has the name
    /// now), else `#id`.
    pub fn label(&self, id: UserId) -> String {
        match self.get(id) {
            None => format!("#{id}"),
            Some(name) if self.find(name) != Some(id) => format!("{name}#{id}"),
            Some(name) => name.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_taken_again_means_the_newest_account_and_the_old_one_shows_its_id() {
        let mut names = Names::default();
        let (old, new) = (UserId((1 << 32) + 1), UserId((1 << 32) + 7));
        // bob deleted his account and registered the name again: a new id. Learnt in either
        // order, "bob" is the new one and the old one is told apart by its id.
        for order in [[old, new], [new, old]] {
            let mut names = Names::default();
            for id in order {
                names.learn(id, "bob".into());
            }
            assert_eq!(names.find("bob"), Some(new));
            assert_eq!(names.label(new), "bob");
            assert_eq!(names.label(old), format!("bob#{old}"));
        }
        names.learn(old, "bob".into());
        assert_eq!(names.label(old), "bob", "alone, a name is just the name");
    }
}
