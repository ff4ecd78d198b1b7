//! The configuration file's model: its sections as serde reads them, before any check.

use std::path::PathBuf;

use serde::Deserialize;
use toml::Spanned;
use wamp_runtime::Serializer;

use crate::AuthMethod;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct File {
    #[serde(default)]
    pub(super) router: RouterSection,
    #[serde(default)]
    pub(super) listener: Vec<ListenerSection>,
    #[serde(default)]
    pub(super) realm: Vec<RealmSection>,
    #[serde(default)]
    pub(super) principal: Vec<PrincipalSection>,
    pub(super) cluster: Option<ClusterSection>,
}

/// `[cluster]`: this router as a node of a cluster over NATS.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ClusterSection {
    pub(super) nats: String,
    pub(super) ca: Option<Spanned<String>>,
    pub(super) name: Option<Spanned<String>>,
    pub(super) node: Option<Spanned<String>>,
    pub(super) node_timeout: Option<Spanned<DurationValue>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RouterSection {
    pub(super) max_message_size: Option<Spanned<usize>>,
    pub(super) hello_timeout: Option<Spanned<DurationValue>>,
    pub(super) auth_timeout: Option<Spanned<DurationValue>>,
    pub(super) write_timeout: Option<Spanned<DurationValue>>,
    pub(super) outbound_queue: Option<Spanned<usize>>,
    pub(super) slow_consumer: Option<SlowConsumerValue>,
    pub(super) max_pending_calls: Option<Spanned<usize>>,
    pub(super) max_subscriptions: Option<Spanned<usize>>,
    pub(super) max_registrations: Option<Spanned<usize>>,
    pub(super) disclose_caller: Option<bool>,
    pub(super) disclose_publisher: Option<bool>,
    pub(super) anonymous: Option<Anonymous>,
    pub(super) metrics: Option<std::net::SocketAddr>,
}

/// Seconds (`10`, `0.5`) or a string with a unit (`"500ms"`, `"10s"`, `"2m"`, `"1h"`, `"7d"`).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum DurationValue {
    Seconds(f64),
    Text(String),
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum SlowConsumerValue {
    Drop,
    Disconnect,
}

/// `anonymous = "role"`, `true` (role `anonymous`) or `false` (refused).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(super) enum Anonymous {
    Enabled(bool),
    Role(String),
}

impl Anonymous {
    pub(super) fn role(&self) -> Option<&str> {
        match self {
            Anonymous::Enabled(true) => Some("anonymous"),
            Anonymous::Enabled(false) => None,
            Anonymous::Role(r) => Some(r),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum ListenerType {
    Websocket,
    Rawsocket,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ListenerSection {
    #[serde(rename = "type")]
    pub(super) kind: Spanned<ListenerType>,
    pub(super) address: Option<Spanned<std::net::SocketAddr>>,
    pub(super) path: Option<Spanned<PathBuf>>,
    pub(super) serializers: Option<Spanned<Vec<SerializerName>>>,
    pub(super) max_message_size: Option<Spanned<usize>>,
    pub(super) auth: Option<Spanned<Vec<MethodName>>>,
    pub(super) max_sessions: Option<Spanned<usize>>,
    pub(super) tls: Option<TlsSection>,
    pub(super) authenticator: Option<AuthenticatorSection>,
    #[serde(rename = "static")]
    pub(super) static_dir: Option<Spanned<PathBuf>>,
    /// WebSocket endpoints and static directories by URL path (WebSocket listeners).
    #[serde(default)]
    pub(super) paths: Vec<PathSection>,
}

/// One `[[listener.paths]]`: a WebSocket endpoint with its own settings, or (with
/// `static`) a directory of files.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PathSection {
    pub(super) path: Spanned<String>,
    /// `websocket` (the default) or `longpoll`; a path with `static` serves files.
    #[serde(rename = "type")]
    pub(super) kind: Option<Spanned<PathKind>>,
    pub(super) serializers: Option<Spanned<Vec<SerializerName>>>,
    pub(super) max_message_size: Option<Spanned<usize>>,
    pub(super) auth: Option<Spanned<Vec<MethodName>>>,
    pub(super) max_sessions: Option<Spanned<usize>>,
    pub(super) authenticator: Option<AuthenticatorSection>,
    #[serde(rename = "static")]
    pub(super) static_dir: Option<Spanned<PathBuf>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum PathKind {
    Websocket,
    Longpoll,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum SerializerName {
    Json,
    Msgpack,
    Cbor,
}

impl From<SerializerName> for Serializer {
    fn from(s: SerializerName) -> Self {
        match s {
            SerializerName::Json => Serializer::Json,
            SerializerName::Msgpack => Serializer::MsgPack,
            SerializerName::Cbor => Serializer::Cbor,
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum MethodName {
    Anonymous,
    Ticket,
    Wampcra,
    Cryptosign,
    /// WAMP-SCRAM: both `wamp-scram` and Crossbar.io's `scram` name it.
    #[serde(rename = "wamp-scram", alias = "scram")]
    Scram,
}

impl From<MethodName> for AuthMethod {
    fn from(m: MethodName) -> Self {
        match m {
            MethodName::Anonymous => AuthMethod::Anonymous,
            MethodName::Ticket => AuthMethod::Ticket,
            MethodName::Wampcra => AuthMethod::WampCra,
            MethodName::Cryptosign => AuthMethod::Cryptosign,
            MethodName::Scram => AuthMethod::Scram,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TlsSection {
    pub(super) certificate: Spanned<PathBuf>,
    pub(super) key: Spanned<PathBuf>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AuthenticatorSection {
    pub(super) procedure: Spanned<String>,
    pub(super) realm: Spanned<String>,
    pub(super) methods: Spanned<Vec<MethodName>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RealmSection {
    pub(super) name: Spanned<String>,
    pub(super) anonymous: Option<Anonymous>,
    /// Check CALL and PUBLISH payloads against the services' interface descriptions.
    #[serde(default)]
    pub(super) validate_payloads: bool,
    #[serde(default)]
    pub(super) role: Vec<RoleSection>,
    /// The topics whose events are kept for `wamp.subscription.get_events`.
    #[serde(default)]
    pub(super) history: Vec<HistorySection>,
}

/// One `[[realm.history]]`: a topic or pattern, how many events, for how long.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct HistorySection {
    pub(super) uri: Spanned<String>,
    #[serde(rename = "match")]
    pub(super) policy: Option<PolicyName>,
    pub(super) limit: Option<Spanned<usize>>,
    pub(super) max_age: Option<Spanned<DurationValue>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RoleSection {
    pub(super) name: Spanned<String>,
    #[serde(default)]
    pub(super) permissions: Vec<PermissionSection>,
    pub(super) disclose_caller: Option<bool>,
    pub(super) disclose_publisher: Option<bool>,
    /// A procedure that decides what the role may do (instead of `permissions`).
    pub(super) authorizer: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PermissionSection {
    pub(super) uri: Spanned<String>,
    #[serde(rename = "match")]
    pub(super) policy: Option<PolicyName>,
    pub(super) allow: Vec<ActionName>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum PolicyName {
    Exact,
    Prefix,
    Wildcard,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum ActionName {
    Call,
    Register,
    Publish,
    Subscribe,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PrincipalSection {
    pub(super) authid: Spanned<String>,
    pub(super) realm: Spanned<String>,
    pub(super) role: Spanned<String>,
    pub(super) ticket: Option<String>,
    pub(super) wampcra: Option<WampCraSection>,
    pub(super) cryptosign: Option<Spanned<Vec<String>>>,
    pub(super) scram: Option<Spanned<ScramSection>>,
}

/// A stored WAMP-SCRAM credential (`wamp-router --scram-credential` prints one).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ScramSection {
    pub(super) kdf: String,
    pub(super) iterations: u32,
    pub(super) memory: Option<u32>,
    /// Hex.
    pub(super) salt: String,
    /// Hex.
    #[serde(alias = "stored-key")]
    pub(super) stored_key: String,
    /// Hex.
    #[serde(alias = "server-key")]
    pub(super) server_key: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct WampCraSection {
    pub(super) secret: String,
    pub(super) salt: Option<String>,
    pub(super) iterations: Option<u32>,
    pub(super) keylen: Option<u32>,
}
