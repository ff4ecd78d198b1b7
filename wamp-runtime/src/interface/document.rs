//! One procedure, topic or error of an interface on its own, as the reflection API
//! answers with it: the item's description, the interface it belongs to, and just the
//! `$defs` its schemas refer to.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value as Json};

use super::format::{Interface, Schema};

/// What kind of item a [`Document`] describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// A procedure.
    Procedure,
    /// A topic.
    Topic,
    /// An error.
    Error,
}

impl Kind {
    /// The kind's name, as the reflection API and its events use it.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Procedure => "procedure",
            Kind::Topic => "topic",
            Kind::Error => "error",
        }
    }
}

/// One item of an interface, self-contained: its description as JSON, with `interface`
/// (the service's name) and `$defs` (the definitions it refers to) added.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// The kind of item.
    pub kind: Kind,
    /// Its URI as written (with placeholders).
    pub uri: String,
    /// Its description.
    pub json: Json,
}

impl Interface {
    /// Every procedure, topic and error of the interface as a document of its own.
    pub fn documents(&self) -> Vec<Document> {
        let mut out = Vec::new();
        for p in &self.procedures {
            out.push(self.document(Kind::Procedure, &p.uri, p));
        }
        for t in &self.topics {
            out.push(self.document(Kind::Topic, &t.uri, t));
        }
        for e in &self.errors {
            out.push(self.document(Kind::Error, &e.uri, e));
        }
        out
    }

    fn document(&self, kind: Kind, uri: &str, item: &impl Serialize) -> Document {
        let mut json = serde_json::to_value(item).unwrap_or(Json::Null);
        let defs = closure(&json, &self.defs);
        if let Json::Object(map) = &mut json {
            map.insert("interface".into(), Json::String(self.name.clone()));
            if !defs.is_empty() {
                map.insert("$defs".into(), Json::Object(defs));
            }
        }
        Document {
            kind,
            uri: uri.to_owned(),
            json,
        }
    }
}

/// The definitions `value` refers to (`{"$ref": "#/$defs/Name"}`), and those they refer
/// to, and so on.
fn closure(value: &Json, defs: &BTreeMap<String, Schema>) -> Map<String, Json> {
    let mut found = Map::new();
    let mut todo = Vec::new();
    refs(value, &mut todo);
    while let Some(name) = todo.pop() {
        if found.contains_key(&name) {
            continue;
        }
        if let Some(def) = defs.get(&name) {
            refs(def, &mut todo);
            found.insert(name, def.clone());
        }
    }
    found
}

/// The names of the definitions `value` refers to directly.
fn refs(value: &Json, out: &mut Vec<String>) {
    match value {
        Json::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("$ref", Json::String(r)) => {
                        if let Some(name) = r.strip_prefix("#/$defs/") {
                            out.push(name.replace("~1", "/").replace("~0", "~"));
                        }
                    }
                    _ => refs(v, out),
                }
            }
        }
        Json::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}
