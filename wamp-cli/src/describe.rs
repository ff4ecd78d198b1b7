//! `wamp describe`: what a router knows of its services' interfaces, read through the
//! reflection API (`wamp.reflection.*`), or, from a router without one (Crossbar.io),
//! from the description a service serves itself as `{prefix}._description`; printed for
//! people or as JSON.

use std::time::Duration;

use serde_json::{json, Map, Value as Json};
use wamp_runtime::interface::{Interface, Kind};
use wamp_runtime::{Error, MatchPolicy, Session};

/// The descriptions found, each self-contained (with the `$defs` it refers to).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Described {
    /// Procedures.
    pub procedures: Vec<Json>,
    /// Topics.
    pub topics: Vec<Json>,
    /// Errors.
    pub errors: Vec<Json>,
}

impl Described {
    /// As one JSON document: `{"procedures": [...], "topics": [...], "errors": [...]}`.
    pub fn to_json(&self) -> Json {
        json!({ "procedures": self.procedures, "topics": self.topics, "errors": self.errors })
    }

    /// Whether nothing was found.
    pub fn is_empty(&self) -> bool {
        self.procedures.is_empty() && self.topics.is_empty() && self.errors.is_empty()
    }

    fn of(&mut self, kind: Kind) -> &mut Vec<Json> {
        match kind {
            Kind::Procedure => &mut self.procedures,
            Kind::Topic => &mut self.topics,
            Kind::Error => &mut self.errors,
        }
    }
}

/// Whether `uri` is selected by `filter`: everything without one, else the URI itself and
/// those under it (`com.example.calc` selects `com.example.calc.add`).
pub fn selects(filter: Option<&str>, uri: &str) -> bool {
    match filter {
        None => true,
        Some(f) => {
            let f = f.trim_end_matches('.');
            uri == f
                || uri
                    .strip_prefix(f)
                    .is_some_and(|rest| rest.starts_with('.'))
        }
    }
}

const KINDS: [(Kind, &str); 3] = [
    (Kind::Procedure, "procedure"),
    (Kind::Topic, "topic"),
    (Kind::Error, "error"),
];

/// What the router at `session` knows under `filter` (a URI or a prefix; a concrete URI
/// of a pattern procedure finds that procedure).
pub async fn fetch(
    session: &Session,
    filter: Option<&str>,
    timeout: Duration,
) -> Result<Described, Error> {
    if !session.router_supports("dealer", "reflection") {
        return served(session, filter, timeout).await;
    }
    let mut found = Described::default();
    for (kind, name) in KINDS {
        let uris: Vec<String> = session
            .call(format!("wamp.reflection.{name}.list"), ())
            .timeout(timeout)
            .await?;
        for uri in uris.iter().filter(|u| selects(filter, u)) {
            let describe = format!("wamp.reflection.{name}.describe");
            match session
                .call::<Json>(describe, (uri,))
                .timeout(timeout)
                .await
            {
                Ok(d) => found.of(kind).push(d),
                // Undefined between the two calls.
                Err(Error::Application(_)) => {}
                Err(e) => return Err(e),
            }
        }
    }
    if let (Some(f), true) = (filter, found.is_empty()) {
        // A concrete URI that a pattern procedure or topic matches.
        for (kind, name) in KINDS.into_iter().take(2) {
            let describe = format!("wamp.reflection.{name}.describe");
            if let Ok(d) = session.call::<Json>(describe, (f,)).timeout(timeout).await {
                found.of(kind).push(d);
            }
        }
    }
    Ok(found)
}

/// From a router without reflection: the description served as `{prefix}._description`
/// by the service whose prefix is `filter` or one of its parents.
async fn served(
    session: &Session,
    filter: Option<&str>,
    timeout: Duration,
) -> Result<Described, Error> {
    let Some(f) = filter.map(|f| f.trim_end_matches('.')) else {
        return Err(Error::Invalid(
            "this router has no reflection API: give the service's URI prefix, whose \
             {prefix}._description a service serves"
                .into(),
        ));
    };
    let parts: Vec<&str> = f.split('.').collect();
    for n in (1..=parts.len()).rev() {
        let prefix = parts[..n].join(".");
        let answer = session
            .call::<Interface>(format!("{prefix}._description"), ())
            .timeout(timeout)
            .await;
        let interface = match answer {
            Ok(i) => i,
            Err(Error::Application(w)) if w.uri.ends_with("no_such_procedure") => continue,
            Err(e) => return Err(e),
        };
        let docs = interface.documents();
        let mut found = Described::default();
        for doc in docs.iter().filter(|d| selects(Some(f), &d.uri)) {
            found.of(doc.kind).push(doc.json.clone());
        }
        if found.is_empty() {
            // A concrete URI that a pattern procedure or topic matches.
            for doc in docs.iter().filter(|d| matches_concrete(&d.json, f)) {
                found.of(doc.kind).push(doc.json.clone());
            }
        }
        return Ok(found);
    }
    Ok(Described::default())
}

/// Whether the procedure or topic described by `item` is called or published at `uri`.
fn matches_concrete(item: &Json, uri: &str) -> bool {
    let (Some(pattern), Some(policy)) = (
        item["pattern"].as_str(),
        item["match"].as_str().and_then(MatchPolicy::parse),
    ) else {
        return false;
    };
    wamp_runtime::proto::uri::matches(pattern, policy, uri)
}

/// The descriptions for people: one block per procedure, topic and error.
pub fn render(d: &Described) -> String {
    let mut out = String::new();
    for p in &d.procedures {
        let params = params(p);
        let result = &p["result"];
        let mut ret = schema_text(&result["schema"]);
        if p["progressive"].as_bool() == Some(true) {
            ret = format!("stream of {ret}");
        }
        match result["shape"].as_str() {
            Some("args") => ret.push_str(" (as args)"),
            Some("kwargs") => ret.push_str(" (as kwargs)"),
            _ => {}
        }
        let called = match p["match"].as_str() {
            Some(m @ ("prefix" | "wildcard")) if no_placeholders(p) => format!(" ({m} match)"),
            _ => String::new(),
        };
        out.push_str(&format!(
            "procedure {}({params}) -> {ret}{called}{}\n",
            text(&p["uri"]),
            from_interface(p)
        ));
        describe_lines(&mut out, p);
        placeholder_lines(&mut out, p);
        let errors: Vec<&str> = list(&p["errors"]).filter_map(Json::as_str).collect();
        if !errors.is_empty() {
            out.push_str(&format!("    errors: {}\n", errors.join(", ")));
        }
        for (key, label) in [("invoke", "invoke"), ("timeout_ms", "timeout (ms)")] {
            if !p[key].is_null() {
                out.push_str(&format!("    {label}: {}\n", text(&p[key])));
            }
        }
        if p["disclose_caller"].as_bool() == Some(true) {
            out.push_str("    discloses the caller\n");
        }
        if let Some(note) = p["deprecated"].as_str() {
            out.push_str(&format!("    deprecated {note}\n"));
        }
        definitions(&mut out, p);
        out.push('\n');
    }
    for t in &d.topics {
        let payload = &t["payload"];
        out.push_str(&format!(
            "topic {}: {} (as {}){}\n",
            text(&t["uri"]),
            schema_text(&payload["schema"]),
            text(&payload["shape"]),
            from_interface(t)
        ));
        describe_lines(&mut out, t);
        placeholder_lines(&mut out, t);
        definitions(&mut out, t);
        out.push('\n');
    }
    for e in &d.errors {
        let fields = params(e);
        let fields = if fields.is_empty() {
            String::new()
        } else {
            format!("({fields})")
        };
        out.push_str(&format!(
            "error {}{fields}{}\n",
            text(&e["uri"]),
            from_interface(e)
        ));
        describe_lines(&mut out, e);
        definitions(&mut out, e);
        out.push('\n');
    }
    out.trim_end().to_owned()
}

fn list(v: &Json) -> impl Iterator<Item = &Json> {
    v.as_array().into_iter().flatten()
}

fn text(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn no_placeholders(p: &Json) -> bool {
    list(&p["placeholders"]).next().is_none()
}

fn from_interface(item: &Json) -> String {
    item["interface"]
        .as_str()
        .map(|i| format!("    [{i}]"))
        .unwrap_or_default()
}

fn describe_lines(out: &mut String, item: &Json) {
    if let Some(d) = item["description"].as_str() {
        for line in d.lines() {
            out.push_str(&format!("    {line}\n"));
        }
    }
}

/// One line per URI placeholder: its name, its type, and whether it is the tail.
fn placeholder_lines(out: &mut String, item: &Json) {
    for p in list(&item["placeholders"]) {
        let tail = if p["tail"].as_bool() == Some(true) {
            ", and every component after it"
        } else {
            ""
        };
        out.push_str(&format!(
            "    {{{}}}: {} (URI component {}{tail})\n",
            text(&p["name"]),
            schema_text(&p["schema"]),
            text(&p["component"])
        ));
    }
}

/// `name: type` for each positional and keyword parameter (`name?:` when it may be left
/// out; keyword-only ones after a `*`, as in Python).
fn params(item: &Json) -> String {
    let one = |p: &Json| {
        let optional = if p["required"].as_bool() == Some(false) {
            "?"
        } else {
            ""
        };
        let name = text(&p["name"]);
        let ty = schema_text(&p["schema"]);
        // One mark says it may be left out (or be null).
        let ty = match (optional, ty.strip_suffix('?')) {
            ("?", Some(inner)) => inner.to_owned(),
            _ => ty,
        };
        if name.parse::<usize>().is_ok() {
            // A tuple field of an error: its position is its name.
            format!("{ty}{optional}")
        } else {
            format!("{name}{optional}: {ty}")
        }
    };
    let mut parts: Vec<String> = list(&item["args"]).map(one).collect();
    let kwargs: Vec<String> = list(&item["kwargs"]).map(one).collect();
    if !kwargs.is_empty() {
        parts.push("*".into());
        parts.extend(kwargs);
    }
    parts.join(", ")
}

/// The named types an item refers to, one line each.
fn definitions(out: &mut String, item: &Json) {
    if let Some(defs) = item["$defs"].as_object() {
        for (name, schema) in defs {
            out.push_str(&format!("    type {name} = {}\n", shape_text(schema)));
        }
    }
}

/// A schema in a line: a named type by its name, anything else by its shape.
pub fn schema_text(schema: &Json) -> String {
    if let Some(name) = schema["$ref"]
        .as_str()
        .and_then(|r| r.strip_prefix("#/$defs/"))
    {
        return name.to_owned();
    }
    shape_text(schema)
}

fn shape_text(schema: &Json) -> String {
    let Some(map) = schema.as_object() else {
        return if schema == &Json::Bool(false) {
            "nothing".into()
        } else {
            "any".into()
        };
    };
    if let Some(rust) = map.get("x-rust-type").and_then(Json::as_str) {
        return format!("any (Rust {rust}, no schema)");
    }
    if let Some(c) = map.get("const") {
        return c.to_string();
    }
    if let Some(e) = map.get("enum").and_then(Json::as_array) {
        return e
            .iter()
            .map(Json::to_string)
            .collect::<Vec<_>>()
            .join(" | ");
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(options) = map.get(key).and_then(Json::as_array) {
            return options
                .iter()
                .map(schema_text)
                .collect::<Vec<_>>()
                .join(" | ");
        }
    }
    match map.get("type") {
        Some(Json::Array(types)) => {
            let non_null: Vec<&Json> = types
                .iter()
                .filter(|t| t.as_str() != Some("null"))
                .collect();
            let mut one = map.clone();
            let nullable = non_null.len() < types.len();
            one.insert(
                "type".into(),
                match non_null.as_slice() {
                    [t] => (*t).clone(),
                    _ => Json::Array(non_null.into_iter().cloned().collect()),
                },
            );
            let inner = shape_text(&Json::Object(one));
            if nullable {
                format!("{inner}?")
            } else {
                inner
            }
        }
        Some(Json::String(t)) => typed(t, map),
        _ => "any".into(),
    }
}

fn typed(t: &str, map: &Map<String, Json>) -> String {
    let format = map.get("format").and_then(Json::as_str);
    match t {
        "integer" | "number" => format.unwrap_or(t).to_owned(),
        "array" => {
            if let Some(items) = map.get("prefixItems").and_then(Json::as_array) {
                let parts: Vec<String> = items.iter().map(schema_text).collect();
                return format!("({})", parts.join(", "));
            }
            match map.get("items") {
                Some(items) => format!("[{}]", schema_text(items)),
                None => "[any]".into(),
            }
        }
        "object" => {
            let required: Vec<&str> = map
                .get("required")
                .map(|r| list(r).filter_map(Json::as_str).collect())
                .unwrap_or_default();
            if let Some(props) = map.get("properties").and_then(Json::as_object) {
                let fields: Vec<String> = props
                    .iter()
                    .map(|(k, v)| {
                        let optional = if required.contains(&k.as_str()) {
                            ""
                        } else {
                            "?"
                        };
                        format!("{k}{optional}: {}", schema_text(v))
                    })
                    .collect();
                return format!("{{{}}}", fields.join(", "));
            }
            match map.get("additionalProperties") {
                Some(v) if v.is_object() => format!("map of {}", schema_text(v)),
                _ => "object".into(),
            }
        }
        other => other.to_owned(),
    }
}
