//! The interface descriptions a realm knows: each procedure, topic and error defined by a
//! session (`wamp.reflect.define`), as long as something backs it.
//!
//! A definition is one `define` call of one session. Its procedures are tied to the
//! session's registrations: when the session no longer holds a registration (unregister,
//! revocation, leaving), its description of that procedure goes, and a definition with
//! no procedure left goes whole (its topics and errors too). An item stays defined while
//! at least one definition holds it. Two definitions of the same item must agree on the
//! wire (descriptions aside): a `define` that disagrees with what is there is refused.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value as Json;
use wamp_runtime::interface::Kind;
use wamp_runtime::proto::uri::MatchPolicy;
use wamp_runtime::proto::Id;

use crate::validation::{CallCheck, EventCheck};

/// An item's key: its kind and its URI as written.
pub(crate) type Key = (Kind, String);

/// An item defined or undefined: its key and its pattern (who may see it depends on it).
pub(crate) type Changed = (Key, String);

/// How many definitions one session may hold (a service defines one per `register_on`).
const MAX_DEFINITIONS: usize = 1024;

/// One defined procedure, topic or error.
#[derive(Debug)]
pub(crate) struct Item {
    /// Its self-contained description, as `describe` answers.
    pub json: Json,
    /// The URI as registered or subscribed (placeholders empty), and how it is matched.
    pub pattern: String,
    pub policy: MatchPolicy,
    /// For a procedure: the URIs of the errors it answers with.
    pub errors: Vec<String>,
    /// What definitions hold it could disagree on: its description without the prose.
    wire: Json,
    /// Its payload check, when the realm validates payloads.
    pub check: Option<Check>,
    /// The definitions that hold it.
    definers: Vec<u64>,
}

/// A compiled payload check.
pub(crate) enum Check {
    Call(CallCheck),
    Event(EventCheck),
}

impl std::fmt::Debug for Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Check::Call(_) => "Check::Call",
            Check::Event(_) => "Check::Event",
        })
    }
}

/// An item offered by a `define` call, with the registration it describes (procedures).
pub(crate) struct Offered {
    pub key: Key,
    pub json: Json,
    pub pattern: String,
    pub policy: MatchPolicy,
    pub errors: Vec<String>,
    pub registration: Option<Id>,
}

/// One `define` call.
#[derive(Debug)]
struct Definition {
    session: Id,
    /// Its procedures and the registration each describes.
    procedures: Vec<(Key, Id)>,
    /// Its topics and errors.
    others: Vec<Key>,
}

/// The descriptions of one realm.
#[derive(Debug, Default)]
pub(crate) struct Reflection {
    items: BTreeMap<Key, Item>,
    definitions: HashMap<u64, Definition>,
    last: u64,
    /// Whether payloads are checked against the descriptions.
    validates: bool,
}

/// Why a `define` was refused: the item it disagrees on and how, or a schema that does
/// not compile.
#[derive(Debug)]
pub(crate) struct Refused {
    pub text: String,
}

impl Reflection {
    /// The descriptions of a realm that checks payloads against them (`validates`) or not.
    pub fn new(validates: bool) -> Self {
        Reflection {
            validates,
            ..Self::default()
        }
    }

    /// Whether payloads are checked against the descriptions.
    pub fn validates(&self) -> bool {
        self.validates
    }

    /// Adds what `session` defines: the items defined anew (for `on_define`), or the first
    /// item that disagrees with the realm's description of it (then nothing is added).
    pub fn define(&mut self, session: Id, offered: Vec<Offered>) -> Result<Vec<Changed>, Refused> {
        let mut checks = Vec::new();
        for o in &offered {
            let check = match o.key.0 {
                _ if !self.validates || self.items.contains_key(&o.key) => None,
                Kind::Procedure => Some(CallCheck::compile(&o.json).map(Check::Call)),
                Kind::Topic => Some(EventCheck::compile(&o.json).map(Check::Event)),
                Kind::Error => None,
            };
            let check = check.transpose().map_err(|e| Refused {
                text: format!("the {} {:?}: {e}", o.key.0.as_str(), o.key.1),
            })?;
            checks.push(check);
            if let Some(item) = self.items.get(&o.key) {
                if item.wire != wire(&o.json) {
                    let text = format!(
                        "the {} {:?} is already described otherwise: {}",
                        o.key.0.as_str(),
                        o.key.1,
                        difference(&item.wire, &wire(&o.json))
                    );
                    return Err(Refused { text });
                }
            }
        }
        let procedures: Vec<(Key, Id)> = offered
            .iter()
            .filter_map(|o| Some((o.key.clone(), o.registration?)))
            .collect();
        let others: Vec<Key> = offered
            .iter()
            .filter(|o| o.registration.is_none())
            .map(|o| o.key.clone())
            .collect();
        let mine = self.definitions.values().filter(|d| d.session == session);
        let mut count = 0;
        for d in mine {
            if d.procedures == procedures && d.others == others {
                // The same definition again (a repeated `define`): nothing changes.
                return Ok(Vec::new());
            }
            count += 1;
        }
        if count >= MAX_DEFINITIONS {
            return Err(Refused {
                text: format!("a session may hold {MAX_DEFINITIONS} definitions at most"),
            });
        }
        self.last += 1;
        let id = self.last;
        let mut definition = Definition {
            session,
            procedures: Vec::new(),
            others: Vec::new(),
        };
        let mut added = Vec::new();
        for (o, check) in offered.into_iter().zip(checks) {
            match o.registration {
                Some(r) => definition.procedures.push((o.key.clone(), r)),
                None => definition.others.push(o.key.clone()),
            }
            let item = self.items.entry(o.key.clone()).or_insert_with(|| {
                added.push((o.key.clone(), o.pattern.clone()));
                Item {
                    wire: wire(&o.json),
                    json: o.json,
                    pattern: o.pattern,
                    policy: o.policy,
                    errors: o.errors,
                    definers: Vec::new(),
                    check,
                }
            });
            if !item.definers.contains(&id) {
                item.definers.push(id);
            }
        }
        self.definitions.insert(id, definition);
        Ok(added)
    }

    /// `session` no longer holds `registration`: its descriptions of it go. The items no
    /// longer defined (for `on_undefine`).
    pub fn registration_gone(&mut self, session: Id, registration: Id) -> Vec<Changed> {
        let mut gone = Vec::new();
        for id in self.definitions_of(session) {
            let Some(d) = self.definitions.get_mut(&id) else {
                continue;
            };
            let before = d.procedures.len();
            let (left, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut d.procedures)
                .into_iter()
                .partition(|(_, r)| *r == registration);
            d.procedures = kept;
            if left.is_empty() {
                continue;
            }
            let last = d.procedures.is_empty() && before > 0;
            for (key, _) in left {
                gone.extend(self.release(&key, id));
            }
            if last {
                gone.extend(self.drop_definition(id));
            }
        }
        gone
    }

    /// `session` left: everything it defined goes. The items no longer defined.
    pub fn session_gone(&mut self, session: Id) -> Vec<Changed> {
        self.definitions_of(session)
            .into_iter()
            .flat_map(|id| self.drop_definition(id))
            .collect()
    }

    /// The IDs of `session`'s definitions.
    fn definitions_of(&self, session: Id) -> Vec<u64> {
        let mine = self
            .definitions
            .iter()
            .filter(|(_, d)| d.session == session);
        mine.map(|(id, _)| *id).collect()
    }

    fn drop_definition(&mut self, id: u64) -> Vec<Changed> {
        let Some(d) = self.definitions.remove(&id) else {
            return Vec::new();
        };
        let keys = d.procedures.into_iter().map(|(k, _)| k).chain(d.others);
        let keys: Vec<Key> = keys.collect();
        keys.iter().filter_map(|k| self.release(k, id)).collect()
    }

    /// Definition `id` no longer holds `key`; the item if nothing holds it any more.
    fn release(&mut self, key: &Key, id: u64) -> Option<Changed> {
        let item = self.items.get_mut(key)?;
        item.definers.retain(|d| *d != id);
        if item.definers.is_empty() {
            let item = self.items.remove(key)?;
            return Some((key.clone(), item.pattern));
        }
        None
    }

    /// The items of `kind`, by URI.
    pub fn of_kind(&self, kind: Kind) -> impl Iterator<Item = (&str, &Item)> {
        self.items
            .iter()
            .filter(move |((k, _), _)| *k == kind)
            .map(|((_, uri), item)| (uri.as_str(), item))
    }

    /// The item of `kind` whose URI, as written or as registered, is `uri`.
    pub fn get(&self, kind: Kind, uri: &str) -> Option<(&str, &Item)> {
        if let Some((key, item)) = self.items.get_key_value(&(kind, uri.to_owned())) {
            return Some((key.1.as_str(), item));
        }
        self.of_kind(kind).find(|(_, item)| item.pattern == uri)
    }

    /// The checks of an event published to `topic`: those of each topic described whose
    /// pattern it matches.
    pub fn event_checks<'a>(
        &'a self,
        topic: &'a str,
    ) -> impl Iterator<Item = (&'a str, &'a EventCheck)> {
        self.of_kind(Kind::Topic)
            .filter_map(move |(uri, i)| match &i.check {
                Some(Check::Event(c))
                    if wamp_runtime::proto::uri::matches(&i.pattern, i.policy, topic) =>
                {
                    Some((uri, c))
                }
                _ => None,
            })
    }

    /// The check of calls to the registration of `pattern` matched by `policy`.
    pub fn call_check(&self, pattern: &str, policy: MatchPolicy) -> Option<&CallCheck> {
        match &self.procedure_at(pattern, policy)?.1.check {
            Some(Check::Call(c)) => Some(c),
            _ => None,
        }
    }

    /// The procedure described for the registration of `pattern` matched by `policy`.
    pub fn procedure_at(&self, pattern: &str, policy: MatchPolicy) -> Option<(&str, &Item)> {
        self.of_kind(Kind::Procedure)
            .find(|(_, i)| i.pattern == pattern && i.policy == policy)
    }
}

/// What two descriptions of one item must agree on: everything but the prose
/// (`description` texts) and the names that only one language sees (the item's Rust
/// `name`, the `interface` it came in).
fn wire(json: &Json) -> Json {
    fn strip(json: &Json, top: bool) -> Json {
        match json {
            Json::Object(map) => Json::Object(
                map.iter()
                    .filter(|(k, v)| {
                        let prose = *k == "description" && v.is_string();
                        let naming = top && (*k == "interface" || *k == "name");
                        !prose && !naming
                    })
                    .map(|(k, v)| (k.clone(), strip(v, false)))
                    .collect(),
            ),
            Json::Array(items) => Json::Array(items.iter().map(|v| strip(v, false)).collect()),
            other => other.clone(),
        }
    }
    strip(json, true)
}

/// Where two descriptions first differ, as a JSON pointer and the two values.
fn difference(ours: &Json, theirs: &Json) -> String {
    fn walk(a: &Json, b: &Json, at: &mut String) -> Option<String> {
        match (a, b) {
            (Json::Object(x), Json::Object(y)) => {
                let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
                keys.sort();
                keys.dedup();
                for k in keys {
                    let len = at.len();
                    at.push('/');
                    at.push_str(k);
                    match (x.get(k), y.get(k)) {
                        (Some(p), Some(q)) => {
                            if let Some(d) = walk(p, q, at) {
                                return Some(d);
                            }
                        }
                        (p, q) => return Some(format!("at {at}: {p:?} here, {q:?} offered")),
                    }
                    at.truncate(len);
                }
                None
            }
            (Json::Array(x), Json::Array(y)) if x.len() == y.len() => {
                for (i, (p, q)) in x.iter().zip(y).enumerate() {
                    let len = at.len();
                    at.push_str(&format!("/{i}"));
                    if let Some(d) = walk(p, q, at) {
                        return Some(d);
                    }
                    at.truncate(len);
                }
                None
            }
            _ if a == b => None,
            _ => Some(format!("at {}: {a} here, {b} offered", display(at))),
        }
    }
    fn display(at: &str) -> &str {
        if at.is_empty() {
            "/"
        } else {
            at
        }
    }
    let mut at = String::new();
    walk(ours, theirs, &mut at).unwrap_or_else(|| "they differ".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offered(uri: &str, json: Json, registration: Option<Id>) -> Offered {
        let kind = if registration.is_some() {
            Kind::Procedure
        } else {
            Kind::Topic
        };
        Offered {
            key: (kind, uri.into()),
            json,
            pattern: uri.into(),
            policy: MatchPolicy::Exact,
            errors: Vec::new(),
            registration,
        }
    }

    #[test]
    fn an_item_lasts_while_a_definition_holds_it() {
        let mut r = Reflection::default();
        let add = || serde_json::json!({"uri": "a.add", "args": [1]});
        let topic = || serde_json::json!({"uri": "a.news"});
        let first = r.define(
            1,
            vec![
                offered("a.add", add(), Some(10)),
                offered("a.news", topic(), None),
            ],
        );
        assert_eq!(first.map(|k| k.len()).ok(), Some(2));
        // A second callee of the same registration, described the same (prose aside).
        let mut same = add();
        same["description"] = "Adds.".into();
        assert_eq!(
            r.define(2, vec![offered("a.add", same, Some(10))]).ok(),
            Some(vec![])
        );
        assert_eq!(
            r.registration_gone(1, 10),
            [((Kind::Topic, "a.news".to_owned()), "a.news".to_owned())],
            "the topic went with session 1's last procedure; session 2 still holds that"
        );
        assert!(
            r.get(Kind::Procedure, "a.add").is_some(),
            "session 2 still holds it"
        );
        assert_eq!(r.session_gone(2).len(), 1);
        assert!(r.get(Kind::Procedure, "a.add").is_none());
    }

    #[test]
    fn a_repeated_definition_and_other_rust_names_change_nothing() {
        let mut r = Reflection::default();
        let topic =
            |name: &str| serde_json::json!({"uri": "a.news", "name": name, "description": "News."});
        assert_eq!(
            r.define(1, vec![offered("a.news", topic("News"), None)])
                .map(|a| a.len())
                .ok(),
            Some(1)
        );
        assert_eq!(
            r.define(1, vec![offered("a.news", topic("News"), None)])
                .ok(),
            Some(vec![])
        );
        assert_eq!(r.definitions.len(), 1, "defined once");
        let renamed = r.define(2, vec![offered("a.news", topic("Headlines"), None)]);
        assert!(renamed.is_ok(), "the Rust name is not the wire");
        let mut field = topic("News");
        field["payload"] = serde_json::json!({"properties": {"description": {"type": "string"}}});
        assert!(
            r.define(3, vec![offered("a.news", field, None)]).is_err(),
            "a field called description is"
        );
    }

    #[test]
    fn a_disagreeing_definition_is_refused_and_says_where() {
        let mut r = Reflection::default();
        let ok = r.define(
            1,
            vec![offered(
                "a.add",
                serde_json::json!({"args": [{"name": "a"}]}),
                Some(10),
            )],
        );
        assert!(ok.is_ok());
        let other = serde_json::json!({"args": [{"name": "b"}]});
        let refused = r.define(2, vec![offered("a.add", other, Some(10))]);
        let Err(conflict) = refused else {
            panic!("not refused");
        };
        assert!(conflict.text.contains("/args/0/name"), "{}", conflict.text);
        assert!(
            r.session_gone(2).is_empty(),
            "nothing of session 2 was added"
        );
    }
}
