//! The interface description format, version 1: what a `#[service]` trait, its topics
//! and its error types say about their wire shape, as JSON (see the [module
//! docs](super) for the format's rules).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The value of [`Interface::format`].
pub const FORMAT: &str = "wamp-interface";

/// The version of the format this crate writes, and the newest it reads.
pub const VERSION: u32 = 1;

/// A JSON Schema (draft 2020-12), as JSON.
pub type Schema = serde_json::Value;

/// A service's interface: its procedures, the topics it names and the errors they answer
/// with. Type schemas refer to shared definitions in `$defs` (`{"$ref": "#/$defs/Name"}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Interface {
    /// Always [`FORMAT`].
    pub format: String,
    /// The format's version ([`VERSION`]).
    pub version: u32,
    /// The service's name (the Rust trait's name).
    pub name: String,
    /// The trait's doc comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The URI prefix of the service's procedures, if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// The procedures, in declaration order.
    #[serde(default)]
    pub procedures: Vec<Procedure>,
    /// The topics the service names.
    #[serde(default)]
    pub topics: Vec<Topic>,
    /// Every error a procedure can answer with (its own, not the router's `wamp.error.*`).
    #[serde(default)]
    pub errors: Vec<ErrorCase>,
    /// The schemas that the others refer to by name.
    #[serde(rename = "$defs", default, skip_serializing_if = "BTreeMap::is_empty")]
    pub defs: BTreeMap<String, Schema>,
}

/// How a registration or subscription URI is matched (the `match` option).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Match {
    /// The URI as it is.
    #[default]
    Exact,
    /// Every URI that starts with it.
    Prefix,
    /// Every URI with the same components, empty components matching any.
    Wildcard,
}

impl Match {
    /// The `match` option's value.
    pub fn as_str(self) -> &'static str {
        match self {
            Match::Exact => "exact",
            Match::Prefix => "prefix",
            Match::Wildcard => "wildcard",
        }
    }
}

impl From<Match> for crate::proto::MatchPolicy {
    fn from(m: Match) -> Self {
        match m {
            Match::Exact => Self::Exact,
            Match::Prefix => Self::Prefix,
            Match::Wildcard => Self::Wildcard,
        }
    }
}

/// One procedure.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Procedure {
    /// The URI as written, with its `{placeholders}` (`com.example.home.{room}.light`).
    pub uri: String,
    /// The URI as registered: placeholders are empty components, a tail is cut off.
    pub pattern: String,
    /// How [`pattern`](Self::pattern) is matched. A pattern procedure without
    /// placeholders is called at any URI it matches.
    #[serde(rename = "match", default)]
    pub match_policy: Match,
    /// The method's name in the service (`add`), for generated clients.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The `invoke` policy it is registered with (`None`: the router's default, `single`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invoke: Option<String>,
    /// The method's doc comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The parameters that travel in the URI.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub placeholders: Vec<Placeholder>,
    /// The positional parameters, in order. A callee also reads each from `kwargs` under
    /// its name when the caller passes fewer positional arguments.
    #[serde(default)]
    pub args: Vec<Param>,
    /// The parameters that travel only as keyword arguments.
    #[serde(default)]
    pub kwargs: Vec<Param>,
    /// The result.
    pub result: Payload,
    /// Whether results come as progressive results, one [`result`](Self::result) each,
    /// then a final empty RESULT (a caller that does not ask for progress gets one RESULT
    /// whose one argument is the list of them all).
    #[serde(default)]
    pub progressive: bool,
    /// The URIs of the errors it answers with (described in [`Interface::errors`]).
    #[serde(default)]
    pub errors: Vec<String>,
    /// Whether the callee asks the router to disclose the caller.
    #[serde(default)]
    pub disclose_caller: bool,
    /// The call timeout the generated stub sets, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    /// Set when the method is `#[deprecated]`: its note (maybe empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deprecated: Option<String>,
}

/// A parameter or a field that travels as an argument.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Param {
    /// The name it travels under as a keyword argument.
    pub name: String,
    /// Its type.
    pub schema: Schema,
    /// Whether a call must give it (an `Option` may be left out).
    #[serde(default = "yes")]
    pub required: bool,
    /// Its doc comment (fields of error cases have them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

fn yes() -> bool {
    true
}

/// A `{placeholder}` of a URI: the component it fills, and its type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Placeholder {
    /// Its name.
    pub name: String,
    /// The index of the URI component it fills, from 0.
    pub component: usize,
    /// Whether it is the tail (`{*name}`): every component from there on.
    #[serde(default)]
    pub tail: bool,
    /// Its type (it travels as the component's text).
    pub schema: Schema,
}

/// How a value travels as a message's `args` and `kwargs`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Shape {
    /// As one argument, `args = [value]`; `null` is no argument at all.
    #[default]
    Value,
    /// The value is a list: it is `args`.
    Args,
    /// The value is an object: it is `kwargs`.
    Kwargs,
    /// An object is `kwargs`, a list is `args`, `null` is nothing, anything else is
    /// `args = [value]` (how an event payload travels).
    Auto,
}

/// A value that travels as arguments: its shape and its type.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Payload {
    /// How it travels.
    pub shape: Shape,
    /// Its type.
    pub schema: Schema,
}

/// A topic: its URI pattern and its event payload.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Topic {
    /// The URI as written, with its `{placeholders}`.
    pub uri: String,
    /// The URI subscribed to with every placeholder open: placeholders are empty
    /// components (a wildcard subscription).
    pub pattern: String,
    /// How [`pattern`](Self::pattern) is matched.
    #[serde(rename = "match", default)]
    pub match_policy: Match,
    /// The payload type's name (the Rust struct's name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The struct's doc comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The payload fields that travel in the URI (they travel in the payload too).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub placeholders: Vec<Placeholder>,
    /// The event payload.
    pub payload: Payload,
}

/// An error a procedure can answer with: its URI and what it carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorCase {
    /// The error URI.
    pub uri: String,
    /// The Rust name of the case (`CalcError::Overflow`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The case's doc comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The fields that travel as positional `args` (a tuple variant's).
    #[serde(default)]
    pub args: Vec<Param>,
    /// The fields that travel as `kwargs` (a struct variant's).
    #[serde(default)]
    pub kwargs: Vec<Param>,
}

impl Interface {
    /// An empty interface called `name`.
    pub fn new(name: impl Into<String>) -> Self {
        Interface {
            format: FORMAT.to_owned(),
            version: VERSION,
            name: name.into(),
            description: None,
            prefix: None,
            procedures: Vec::new(),
            topics: Vec::new(),
            errors: Vec::new(),
            defs: BTreeMap::new(),
        }
    }

    /// The procedure whose URI (as written or as registered) is `uri`.
    pub fn procedure(&self, uri: &str) -> Option<&Procedure> {
        self.procedures
            .iter()
            .find(|p| p.uri == uri || p.pattern == uri)
    }

    /// The topic whose URI (as written or as subscribed) is `uri`.
    pub fn topic(&self, uri: &str) -> Option<&Topic> {
        self.topics
            .iter()
            .find(|t| t.uri == uri || t.pattern == uri)
    }

    /// The error whose URI is `uri`.
    pub fn error(&self, uri: &str) -> Option<&ErrorCase> {
        self.errors.iter().find(|e| e.uri == uri)
    }

    /// The interface as pretty-printed JSON.
    pub fn to_json_pretty(&self) -> String {
        // Serializing these types to a string cannot fail: every map key is a string.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}
