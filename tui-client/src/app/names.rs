//! Account names the client has learnt (from presence and from lookups), for showing `alice`
//! where the wire has `4294967296`. Names never change for an id (ids are never reused and
//! accounts are not renamed), so the map only grows; a client meets few accounts.

use std::collections::HashMap;

use shared::UserId;

/// Known names by id.
#[derive(Debug, Default)]
pub struct Names {
    map: HashMap<UserId, String>,
}

impl Names {
    /// Remember `id`'s name; whether it was new.
    pub fn learn(&mut self, id: UserId, name: String) -> bool {
        self.map.insert(id, name).is_none()
    }

    /// `id`'s name, if known.
    pub fn get(&self, id: UserId) -> Option<&str> {
        self.map.get(&id).map(String::as_str)
    }

    /// The id of the account called `name` (lower case), if known.
    pub fn find(&self, name: &str) -> Option<UserId> {
        self.map
            .iter()
            .find(|(_, n)| n.as_str() == name)
            .map(|(id, _)| *id)
    }

    /// Every name known.
    pub fn all(&self) -> impl Iterator<Item = &str> {
        self.map.values().map(String::as_str)
    }

    /// How `id` is shown: its name, else `#id`.
    pub fn label(&self, id: UserId) -> String {
        self.get(id).map_or_else(|| format!("#{id}"), str::to_owned)
    }
}
