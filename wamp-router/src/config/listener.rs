//! `[[listener]]`: where and how the router accepts connections, with the WebSocket or
//! RawSocket settings of the listener and of each of its `[[listener.paths]]`.

use std::path::Path;

use toml::Spanned;
use wamp_runtime::proto::uri::{self, UriRule};

use super::model::{
    AuthenticatorSection, ListenerSection, ListenerType, MethodName, PathKind, SerializerName,
};
use super::{positive, ConfigError, Locator};
use crate::{AuthMethod, Authenticator, Listener, ServerTls};

/// One `[[listener]]`.
pub(super) fn listener_section(
    l: &ListenerSection,
    realms: &[&str],
    at: &Locator,
    base: &Path,
) -> Result<Listener, ConfigError> {
    let mut listener = match (l.kind.get_ref(), &l.address, &l.path) {
            (ListenerType::Websocket, Some(a), None) => Listener::websocket(*a.get_ref()),
            (ListenerType::Rawsocket, Some(a), None) => Listener::rawsocket(*a.get_ref()),
            (ListenerType::Rawsocket, None, Some(p)) => Listener::rawsocket_unix(base.join(p.get_ref())),
            (ListenerType::Websocket, _, Some(p)) => {
                return Err(at.at(p, "listener.path", "a WebSocket listener takes an address, not a path"))
            }
            _ => {
                return Err(at.at(&l.kind, "listener", "a listener needs either address = \"host:port\" or (rawsocket only) path = \"/socket\""))
            }
        };
    listener = endpoint(
        listener,
        Endpoint {
            serializers: l.serializers.as_ref(),
            auth: l.auth.as_ref(),
            max_message_size: l.max_message_size.as_ref(),
            max_sessions: l.max_sessions.as_ref(),
            authenticator: l.authenticator.as_ref(),
        },
        realms,
        at,
    )?;
    for p in &l.paths {
        if !matches!(l.kind.get_ref(), ListenerType::Websocket) {
            return Err(at.at(
                &p.path,
                "listener.paths",
                "paths are for WebSocket listeners",
            ));
        }
        let path = p.path.get_ref();
        if !path.starts_with('/') {
            return Err(at.at(&p.path, "listener.paths.path", "a URL path starts with /"));
        }
        listener = match &p.static_dir {
            Some(dir) => {
                if p.serializers.is_some()
                    || p.auth.is_some()
                    || p.authenticator.is_some()
                    || p.kind.is_some()
                {
                    let text = "a static path serves files: WebSocket settings do not apply";
                    return Err(at.at(dir, "listener.paths.static", text));
                }
                let full = base.join(dir.get_ref());
                if !full.is_dir() {
                    let text = format!("{} is not a directory", full.display());
                    return Err(at.at(dir, "listener.paths.static", text));
                }
                listener.static_path(path, full)
            }
            None => {
                let e = endpoint(
                    Listener::endpoint(),
                    Endpoint {
                        serializers: p.serializers.as_ref(),
                        auth: p.auth.as_ref(),
                        max_message_size: p.max_message_size.as_ref(),
                        max_sessions: p.max_sessions.as_ref(),
                        authenticator: p.authenticator.as_ref(),
                    },
                    realms,
                    at,
                )?;
                match p.kind.as_ref().map(|k| *k.get_ref()) {
                    Some(PathKind::Longpoll) => listener.longpoll_path(path, e),
                    _ => listener.websocket_path(path, e),
                }
            }
        };
    }
    if let Some(dir) = &l.static_dir {
        if !matches!(l.kind.get_ref(), ListenerType::Websocket) {
            return Err(at.at(
                dir,
                "listener.static",
                "static files are for WebSocket listeners",
            ));
        }
        let path = base.join(dir.get_ref());
        if !path.is_dir() {
            let text = format!("{} is not a directory", path.display());
            return Err(at.at(dir, "listener.static", text));
        }
        listener = listener.static_files(path);
    }
    if let Some(t) = &l.tls {
        if l.path.is_some() {
            return Err(at.at(&t.certificate, "listener.tls", "TLS is for TCP listeners"));
        }
        let cert = base.join(t.certificate.get_ref());
        let key = base.join(t.key.get_ref());
        let tls = ServerTls::from_pem_files(&cert, &key)
            .map_err(|e| at.at(&t.certificate, "listener.tls", e.to_string()))?;
        listener = listener.tls(tls);
    }
    Ok(listener)
}

/// The WebSocket or RawSocket settings of a listener, or of one of its paths.
struct Endpoint<'a> {
    serializers: Option<&'a Spanned<Vec<SerializerName>>>,
    auth: Option<&'a Spanned<Vec<MethodName>>>,
    max_message_size: Option<&'a Spanned<usize>>,
    max_sessions: Option<&'a Spanned<usize>>,
    authenticator: Option<&'a AuthenticatorSection>,
}

fn endpoint(
    mut listener: Listener,
    e: Endpoint<'_>,
    realms: &[&str],
    at: &Locator,
) -> Result<Listener, ConfigError> {
    if let Some(s) = e.serializers {
        if s.get_ref().is_empty() {
            return Err(at.at(s, "listener.serializers", "allow at least one serializer"));
        }
        listener = listener.serializers(s.get_ref().iter().map(|&s| s.into()));
    }
    if let Some(m) = e.auth {
        if m.get_ref().is_empty() {
            return Err(at.at(
                m,
                "listener.auth",
                "offer at least one authentication method",
            ));
        }
        listener = listener.auth_methods(m.get_ref().iter().map(|&m| m.into()));
    }
    if let Some(v) = e.max_message_size {
        listener = listener.max_message_size(positive(at, v, "listener.max_message_size")?);
    }
    if let Some(v) = e.max_sessions {
        listener = listener.max_sessions(positive(at, v, "listener.max_sessions")?);
    }
    if let Some(a) = e.authenticator {
        if !realms.contains(&a.realm.get_ref().as_str()) {
            return Err(at.at(
                &a.realm,
                "authenticator.realm",
                format!("no [[realm]] is named {:?}", a.realm.get_ref()),
            ));
        }
        if !uri::is_valid_uri(a.procedure.get_ref(), UriRule::Loose) {
            return Err(at.at(
                &a.procedure,
                "authenticator.procedure",
                "not a valid procedure URI",
            ));
        }
        let methods: Vec<AuthMethod> = a.methods.get_ref().iter().map(|&m| m.into()).collect();
        if methods.is_empty() || methods.contains(&AuthMethod::Anonymous) {
            return Err(at.at(
                &a.methods,
                "authenticator.methods",
                "list one or more of \"ticket\", \"wampcra\", \"cryptosign\", \"wamp-scram\"",
            ));
        }
        listener = listener.authenticator(Authenticator::new(
            a.procedure.get_ref().clone(),
            a.realm.get_ref().clone(),
            methods,
        ));
    }
    Ok(listener)
}
