//! What WAMP command-line tools share: the connection options (`--url`, `--realm`,
//! `--serializer` and authentication, as in the client builder), and the translation
//! between shell words, WAMP values and JSON output. The `wamp` binary is built on it,
//! and so are the examples.

pub mod codegen;
pub mod describe;

use clap::Parser;
use wamp_runtime::client::Args;
use wamp_runtime::proto::{from_value, to_value};
use wamp_runtime::{
    Dict, ReconnectPolicy, Serializer, Session, SessionBuilder, SessionEvent, StreamExt, Value,
};

/// How to reach and join a router.
#[derive(Debug, Clone, Parser)]
pub struct ConnectOpts {
    /// The router's URL: ws://, wss://, tcp://, tcps:// (RawSocket) or unix://.
    #[arg(
        long,
        global = true,
        env = "WAMP_URL",
        default_value = "ws://127.0.0.1:8080/ws"
    )]
    pub url: String,
    /// The realm to join.
    #[arg(long, global = true, env = "WAMP_REALM", default_value = "realm1")]
    pub realm: String,
    /// The serializer: json, msgpack or cbor.
    #[arg(long, global = true, default_value = "json")]
    pub serializer: Serializer,
    /// The authentication ID (with --ticket, --secret or --cryptosign-key).
    #[arg(long, global = true)]
    pub authid: Option<String>,
    /// Authenticate with this ticket.
    #[arg(long, global = true, requires = "authid", conflicts_with_all = ["secret", "cryptosign_key"])]
    pub ticket: Option<String>,
    /// Authenticate with WAMP-CRA and this secret.
    #[arg(
        long,
        global = true,
        requires = "authid",
        conflicts_with = "cryptosign_key"
    )]
    pub secret: Option<String>,
    /// Authenticate with WAMP-Cryptosign and this private key (64 hex digits, as
    /// `wamp-router --keygen` prints it).
    #[arg(long, global = true, value_parser = parse_key)]
    pub cryptosign_key: Option<wamp_runtime::CryptosignKey>,
    /// Reconnect when the router cannot be reached or the connection drops (backoff from
    /// 0.5 s up to 30 s), joining again and restoring registrations and subscriptions.
    #[arg(long, global = true)]
    pub reconnect: bool,
    /// Reconnect as --reconnect, but give up after this many failed attempts in a row.
    #[arg(long, global = true)]
    pub max_attempts: Option<u32>,
}

fn parse_key(s: &str) -> Result<wamp_runtime::CryptosignKey, String> {
    wamp_runtime::CryptosignKey::from_hex(s).map_err(|e| e.to_string())
}

impl ConnectOpts {
    /// A session builder for these options.
    pub fn session(&self) -> SessionBuilder {
        let mut b =
            Session::builder(self.url.as_str(), self.realm.as_str()).serializer(self.serializer);
        if let Some(authid) = &self.authid {
            b = b.authid(authid.as_str());
            if let Some(ticket) = &self.ticket {
                b = b.ticket(authid.as_str(), ticket.as_str());
            }
            if let Some(secret) = &self.secret {
                b = b.wampcra(authid.as_str(), secret.as_str());
            }
        }
        if let Some(key) = &self.cryptosign_key {
            b = b.cryptosign(key.clone());
        }
        if self.reconnects() {
            b = b.reconnect(self.reconnect_policy());
        }
        b
    }

    /// Whether these options ask to reconnect (`--reconnect` or `--max-attempts`).
    pub fn reconnects(&self) -> bool {
        self.reconnect || self.max_attempts.is_some()
    }

    /// The reconnect policy these options ask for (used when they ask to reconnect).
    pub fn reconnect_policy(&self) -> ReconnectPolicy {
        let policy = ReconnectPolicy::default();
        match self.max_attempts {
            Some(n) => policy.max_attempts(n),
            None => policy,
        }
    }
}

/// Prints a session's lifecycle to stderr (disconnections, reconnections, a give-up),
/// prefixed with `name`, until the session closes.
pub fn report_lifecycle(session: &Session, name: &'static str) {
    let mut lifecycle = session.lifecycle();
    tokio::spawn(async move {
        while let Some(event) = lifecycle.next().await {
            match event {
                SessionEvent::Disconnected {
                    reason,
                    reconnecting,
                } => {
                    let next = if reconnecting { "; reconnecting" } else { "" };
                    eprintln!("{name}: disconnected ({reason}){next}");
                }
                SessionEvent::Reconnected {
                    session, failed, ..
                } => {
                    eprintln!("{name}: reconnected as session {session}");
                    for (uri, error) in failed {
                        eprintln!("{name}: could not restore {uri}: {error}");
                    }
                }
                SessionEvent::GaveUp { attempts, error } => {
                    eprintln!("{name}: gave up reconnecting after {attempts} attempts ({error})");
                }
                _ => {}
            }
        }
    });
}

/// Logs to stderr, filtered by `RUST_LOG` (default: warn): what a command-line tool
/// prints is its output, and its logs stay out of the way.
pub fn init_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// A shell word as a WAMP value: JSON where it is JSON (`2`, `true`, `"two"`, `[1,2]`,
/// `{"a":1}`), a string otherwise (`hello`).
pub fn parse_value(word: &str) -> Value {
    serde_json::from_str::<serde_json::Value>(word)
        .ok()
        .and_then(|j| to_value(&j).ok())
        .unwrap_or_else(|| Value::Str(word.to_owned()))
}

/// A `key=value` keyword argument; the value as [`parse_value`] reads it.
pub fn parse_kwarg(word: &str) -> Result<(String, Value), String> {
    match word.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), parse_value(v))),
        _ => Err(format!("{word:?}: expected key=value")),
    }
}

/// Arguments from shell words and `key=value` pairs.
pub fn args_from(words: &[String], kwargs: &[(String, Value)]) -> Args {
    Args {
        args: words.iter().map(|w| parse_value(w)).collect(),
        kwargs: kwargs.iter().cloned().collect(),
        ..Default::default()
    }
}

/// A WAMP value as JSON. Binary values become base64 strings, as WAMP's JSON serializer
/// carries them.
pub fn to_json(value: &Value) -> serde_json::Value {
    match value {
        Value::Bytes(b) => serde_json::Value::String(base64_of(b)),
        Value::List(l) => serde_json::Value::Array(l.iter().map(to_json).collect()),
        Value::Dict(d) => {
            serde_json::Value::Object(d.iter().map(|(k, v)| (k.clone(), to_json(v))).collect())
        }
        other => from_value(other.clone()).unwrap_or(serde_json::Value::Null),
    }
}

fn base64_of(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn dict_json(d: &Dict) -> serde_json::Value {
    to_json(&Value::Dict(d.clone()))
}

/// What `wamp call` prints for a result: nothing for an empty one, the value of a single
/// argument, an array for several, and `{"args": [...], "kwargs": {...}}` when there are
/// keyword arguments.
pub fn render_result(result: &Args) -> Option<String> {
    let json = if !result.kwargs.is_empty() {
        serde_json::json!({
            "args": result.args.iter().map(to_json).collect::<Vec<_>>(),
            "kwargs": dict_json(&result.kwargs),
        })
    } else {
        match result.args.as_slice() {
            [] => return None,
            [one] => to_json(one),
            many => serde_json::Value::Array(many.iter().map(to_json).collect()),
        }
    };
    Some(json.to_string())
}

/// The JSON object for arguments, with both parts always present.
pub fn args_json(args: &Args) -> serde_json::Value {
    serde_json::json!({
        "args": args.args.iter().map(to_json).collect::<Vec<_>>(),
        "kwargs": dict_json(&args.kwargs),
    })
}

/// A value received from a command's output: JSON when it parses, else the text.
pub fn value_from_output(text: &str) -> Value {
    let text = text.strip_suffix('\n').unwrap_or(text);
    parse_value(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_json_where_they_are_json() {
        assert_eq!(parse_value("2"), Value::Int(2));
        assert_eq!(parse_value("-3"), Value::Int(-3));
        assert_eq!(parse_value("true"), Value::Bool(true));
        assert_eq!(parse_value("\"two\""), Value::Str("two".into()));
        assert_eq!(parse_value("hello"), Value::Str("hello".into()));
        assert_eq!(
            parse_value("[1,\"a\"]"),
            Value::List(vec![Value::Int(1), Value::Str("a".into())])
        );
        assert_eq!(
            parse_kwarg("name=Ada").unwrap(),
            ("name".to_owned(), Value::Str("Ada".into()))
        );
        assert_eq!(parse_kwarg("n=1=2").unwrap().1, Value::Str("1=2".into()));
        assert!(parse_kwarg("=1").is_err());
        assert!(parse_kwarg("nothing").is_err());
    }

    #[test]
    fn results_render_as_json() {
        let args = |a: Vec<Value>| Args {
            args: a,
            kwargs: Dict::new(),
            ..Default::default()
        };
        assert_eq!(render_result(&args(vec![])), None);
        assert_eq!(render_result(&args(vec![Value::Int(5)])).unwrap(), "5");
        assert_eq!(
            render_result(&args(vec![Value::Str("a".into()), Value::Null])).unwrap(),
            "[\"a\",null]"
        );
        let mut kw = args(vec![Value::Int(1)]);
        kw.kwargs.insert("x".into(), Value::Bool(false));
        assert_eq!(
            render_result(&kw).unwrap(),
            r#"{"args":[1],"kwargs":{"x":false}}"#
        );
        assert_eq!(
            to_json(&Value::Bytes(b"hi!?".to_vec())),
            serde_json::json!("aGkhPw==")
        );
    }
}
