//! `wamp codegen`: typed clients for other languages, generated from interface
//! descriptions: read from files a contract crate exports (`<Trait>Client::interface()`
//! as JSON) or from a running router's reflection API. TypeScript over Autobahn|JS
//! first ([`typescript`]).
//!
//! The generators work on a [`Contract`]: every procedure grouped by its service, and
//! every topic, error and named type once.

pub mod typescript;

use std::collections::BTreeMap;

use serde_json::Value as Json;
use wamp_runtime::interface::{Interface, Kind};

use crate::describe::Described;

/// One service: its procedures, in order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Service {
    /// The service's name (the Rust trait's).
    pub name: String,
    /// Its doc comment, when known (a description file has it; reflection does not).
    pub description: Option<String>,
    /// Its procedures' descriptions.
    pub procedures: Vec<Json>,
}

/// What a generator writes code for.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Contract {
    /// The services, in the order they came.
    pub services: Vec<Service>,
    /// Every topic, once.
    pub topics: Vec<Json>,
    /// Every error, once.
    pub errors: Vec<Json>,
    /// Every named type the others refer to (`#/$defs/Name`).
    pub defs: BTreeMap<String, Json>,
}

impl Contract {
    /// From description files' interfaces.
    pub fn from_interfaces(interfaces: &[Interface]) -> Contract {
        let mut c = Contract::default();
        for i in interfaces {
            c.service(&i.name).description = i.description.clone();
            for doc in i.documents() {
                c.add(doc.kind, doc.json);
            }
        }
        c
    }

    /// From what a router's reflection API described (grouped by the `interface` each
    /// item names).
    pub fn from_described(d: &Described) -> Contract {
        let mut c = Contract::default();
        let items = [
            (Kind::Procedure, &d.procedures),
            (Kind::Topic, &d.topics),
            (Kind::Error, &d.errors),
        ];
        for (kind, list) in items {
            for item in list.iter() {
                c.add(kind, item.clone());
            }
        }
        c
    }

    fn service(&mut self, name: &str) -> &mut Service {
        let at = match self.services.iter().position(|s| s.name == name) {
            Some(at) => at,
            None => {
                self.services.push(Service {
                    name: name.to_owned(),
                    ..Service::default()
                });
                self.services.len() - 1
            }
        };
        &mut self.services[at]
    }

    /// Adds one self-contained item: its definitions join [`Contract::defs`] (renamed
    /// `{Interface}{Name}` where another item defined that name otherwise).
    fn add(&mut self, kind: Kind, mut item: Json) {
        let interface = item["interface"].as_str().unwrap_or("Service").to_owned();
        let defs = match item.as_object_mut().and_then(|m| m.remove("$defs")) {
            Some(Json::Object(defs)) => defs,
            _ => Default::default(),
        };
        let renames: BTreeMap<String, String> = defs
            .iter()
            .filter(|(name, schema)| self.defs.get(*name).is_some_and(|known| known != *schema))
            .map(|(name, _)| (name.clone(), format!("{interface}{name}")))
            .collect();
        for (name, mut schema) in defs {
            rename_refs(&mut schema, &renames);
            let name = renames.get(&name).cloned().unwrap_or(name);
            self.defs.entry(name).or_insert(schema);
        }
        rename_refs(&mut item, &renames);
        let uri = item["uri"].clone();
        match kind {
            Kind::Procedure => self.service(&interface).procedures.push(item),
            Kind::Topic if !self.topics.iter().any(|t| t["uri"] == uri) => self.topics.push(item),
            Kind::Error if !self.errors.iter().any(|e| e["uri"] == uri) => self.errors.push(item),
            _ => {}
        }
    }
}

/// Rewrites `#/$defs/Old` references to `#/$defs/New` for each rename.
fn rename_refs(value: &mut Json, renames: &BTreeMap<String, String>) {
    if renames.is_empty() {
        return;
    }
    match value {
        Json::Object(map) => {
            for (k, v) in map.iter_mut() {
                if let (true, Json::String(r)) = (k == "$ref", &mut *v) {
                    if let Some(new) = r.strip_prefix("#/$defs/").and_then(|n| renames.get(n)) {
                        *r = format!("#/$defs/{new}");
                    }
                } else {
                    rename_refs(v, renames);
                }
            }
        }
        Json::Array(items) => items.iter_mut().for_each(|v| rename_refs(v, renames)),
        _ => {}
    }
}

/// Reads description files: each holds one interface, or a JSON array of them.
pub fn read_files(paths: &[std::path::PathBuf]) -> Result<Vec<Interface>, String> {
    let mut out = Vec::new();
    for path in paths {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let json: Json = serde_json::from_str(&text)
            .map_err(|e| format!("{} is not JSON: {e}", path.display()))?;
        let items = match json {
            Json::Array(items) => items,
            one => vec![one],
        };
        for item in items {
            let interface: Interface = serde_json::from_value(item).map_err(|e| {
                format!(
                    "{} is not a wamp-interface description: {e}",
                    path.display()
                )
            })?;
            if interface.version > wamp_runtime::interface::VERSION {
                return Err(format!(
                    "{}: version {} of the format is newer than this tool reads",
                    path.display(),
                    interface.version
                ));
            }
            out.push(interface);
        }
    }
    Ok(out)
}
