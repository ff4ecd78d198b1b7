//! A router worker's transports: WebSocket, RawSocket, `web` (its paths) and `universal`,
//! their endpoints, and the WAMP settings of each endpoint.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;

use serde_json::{Map, Value as Json};
use wamp_runtime::Serializer;

use super::{object, string, warn, At, Crossbar};
use crate::auth::AuthMethod;
use crate::config::ConfigError;
use crate::{Listener, ServerTls};

impl Crossbar {
    pub(super) fn transport(
        &mut self,
        at: &At<'_>,
        t: &Json,
        key: &str,
        base: &Path,
    ) -> Result<(), ConfigError> {
        let t = object(at, t, key)?;
        let kind = string(at, t, "type", key)?;
        let endpoint = t
            .get("endpoint")
            .ok_or_else(|| at.error(&format!("{key}.endpoint"), "an endpoint is needed"))?;
        let endpoint = object(at, endpoint, &format!("{key}.endpoint"))?;
        let ekey = format!("{key}.endpoint");
        let (addr, unix, tls) = endpoint_of(at, endpoint, &ekey, base)?;
        let mut listener = match (kind, addr, &unix) {
            ("websocket" | "web" | "universal", Some(a), _) => Listener::websocket(a),
            ("rawsocket", Some(a), _) => Listener::rawsocket(a),
            ("rawsocket", None, Some(p)) => Listener::rawsocket_unix(p),
            ("websocket" | "web" | "universal", None, Some(_)) => {
                return Err(at.error(&ekey, "WebSocket over a Unix socket is not supported"))
            }
            (other, ..) if !matches!(other, "websocket" | "web" | "rawsocket" | "universal") => {
                warn(
                    key,
                    &format!("{other} transports are not supported, skipped"),
                );
                return Ok(());
            }
            _ => {
                return Err(at.error(
                    &ekey,
                    "a tcp endpoint with a port, or a unix one with a path",
                ))
            }
        };
        if let Some(tls) = tls {
            listener = listener.tls(tls);
        }
        match kind {
            "web" => {
                let paths = t.get("paths").and_then(Json::as_object).ok_or_else(|| {
                    at.error(&format!("{key}.paths"), "a web transport needs paths")
                })?;
                listener = self.web_paths(at, listener, paths, &format!("{key}.paths"), base)?;
            }
            "universal" => {
                if let Some(raw) = t.get("rawsocket") {
                    let rkey = format!("{key}.rawsocket");
                    let raw = object(at, raw, &rkey)?;
                    let e = self.wamp_endpoint(at, Listener::endpoint(), raw, &rkey)?;
                    listener = listener.with_rawsocket(e);
                }
                if let Some(ws) = t.get("websocket") {
                    let wkey = format!("{key}.websocket");
                    for (path, p) in object(at, ws, &wkey)? {
                        let pkey = format!("{wkey}.{path}");
                        let e = self.wamp_endpoint(
                            at,
                            Listener::endpoint(),
                            object(at, p, &pkey)?,
                            &pkey,
                        )?;
                        listener = listener.websocket_path(&url_path(path), e);
                    }
                }
                if let Some(web) = t.get("web") {
                    let wkey = format!("{key}.web");
                    let web = object(at, web, &wkey)?;
                    if let Some(paths) = web.get("paths").and_then(Json::as_object) {
                        listener =
                            self.web_paths(at, listener, paths, &format!("{wkey}.paths"), base)?;
                    }
                }
            }
            _ => listener = self.wamp_endpoint(at, listener, t, key)?,
        }
        for k in t.keys() {
            if !matches!(
                k.as_str(),
                "type"
                    | "endpoint"
                    | "paths"
                    | "serializers"
                    | "options"
                    | "auth"
                    | "url"
                    | "id"
                    | "debug"
            ) {
                warn(&format!("{key}.{k}"), "not read by this router, ignored");
            }
        }
        self.listeners.push(listener);
        Ok(())
    }

    /// A `web` transport's paths: WebSocket and long-poll endpoints, static directories.
    fn web_paths(
        &mut self,
        at: &At<'_>,
        mut listener: Listener,
        paths: &Map<String, Json>,
        key: &str,
        base: &Path,
    ) -> Result<Listener, ConfigError> {
        for (path, p) in paths {
            let pkey = format!("{key}.{path}");
            let p = object(at, p, &pkey)?;
            let url = url_path(path);
            match p.get("type").and_then(Json::as_str) {
                Some("websocket") => {
                    let e = self.wamp_endpoint(at, Listener::endpoint(), p, &pkey)?;
                    listener = listener.websocket_path(&url, e);
                }
                Some("longpoll") => {
                    let e = self.wamp_endpoint(at, Listener::endpoint(), p, &pkey)?;
                    listener = listener.longpoll_path(&url, e);
                }
                Some("static") => {
                    let dir = p.get("directory").and_then(Json::as_str).ok_or_else(|| {
                        at.error(
                            &format!("{pkey}.directory"),
                            "a directory is needed (package resources are not supported)",
                        )
                    })?;
                    let dir = base.join(dir);
                    if !dir.is_dir() {
                        let text = format!("{} is not a directory", dir.display());
                        return Err(at.error(&format!("{pkey}.directory"), text));
                    }
                    listener = listener.static_path(&url, dir);
                }
                Some(other) => warn(
                    &pkey,
                    &format!("{other} web services are not supported, skipped"),
                ),
                None => return Err(at.error(&pkey, "a web path needs a type")),
            }
        }
        Ok(listener)
    }

    /// The WAMP settings of a transport or web path: serializers, options, auth.
    pub(super) fn wamp_endpoint(
        &mut self,
        at: &At<'_>,
        mut l: Listener,
        o: &Map<String, Json>,
        key: &str,
    ) -> Result<Listener, ConfigError> {
        if let Some(s) = o.get("serializers") {
            let list = s
                .as_array()
                .ok_or_else(|| at.error(&format!("{key}.serializers"), "a list is needed"))?;
            let mut ours = Vec::new();
            for name in list.iter().filter_map(Json::as_str) {
                match name {
                    "json" => ours.push(Serializer::Json),
                    "msgpack" => ours.push(Serializer::MsgPack),
                    "cbor" => ours.push(Serializer::Cbor),
                    other => warn(
                        &format!("{key}.serializers"),
                        &format!("{other} is not supported, left out"),
                    ),
                }
            }
            if ours.is_empty() {
                return Err(at.error(
                    &format!("{key}.serializers"),
                    "none of these serializers is supported (json, msgpack, cbor)",
                ));
            }
            l = l.serializers(ours);
        }
        if let Some(opts) = o.get("options").and_then(Json::as_object) {
            for (k, v) in opts {
                let here = format!("{key}.options.{k}");
                match k.as_str() {
                    "max_message_size" => match v.as_u64().and_then(|n| usize::try_from(n).ok()) {
                        Some(n) if n > 0 => l = l.max_message_size(n),
                        _ => return Err(at.error(&here, "a positive number of bytes is needed")),
                    },
                    _ => warn(&here, "not read by this router, ignored"),
                }
            }
        }
        let mut methods = Vec::new();
        match o.get("auth") {
            // As Crossbar.io: no auth section is anonymous access, role "anonymous".
            None => {
                methods.push(AuthMethod::Anonymous);
                self.set_anonymous(at, "anonymous", key)?;
            }
            Some(auth) => {
                let auth = object(at, auth, &format!("{key}.auth"))?;
                for (method, cfg) in auth {
                    let here = format!("{key}.auth.{method}");
                    let cfg = object(at, cfg, &here)?;
                    if let Some(m) = self.auth_method(at, &mut l, method, cfg, &here)? {
                        methods.push(m);
                    }
                }
                if methods.is_empty() {
                    return Err(at.error(
                        &format!("{key}.auth"),
                        "no authentication method this router supports",
                    ));
                }
            }
        }
        Ok(l.auth_methods(methods))
    }
}

/// A `paths` key as a URL path (`"/"` is the root, `"ws"` is `/ws`).
fn url_path(key: &str) -> String {
    if key == "/" {
        "/".to_owned()
    } else {
        format!("/{}", key.trim_start_matches('/'))
    }
}

/// A transport's endpoint: a TCP address (with TLS) or a Unix socket path.
#[allow(clippy::type_complexity)]
fn endpoint_of(
    at: &At<'_>,
    e: &Map<String, Json>,
    key: &str,
    base: &Path,
) -> Result<
    (
        Option<SocketAddr>,
        Option<std::path::PathBuf>,
        Option<ServerTls>,
    ),
    ConfigError,
> {
    let tls = match e.get("tls").and_then(Json::as_object) {
        None => None,
        Some(t) => {
            let cert = base.join(string(at, t, "certificate", &format!("{key}.tls"))?);
            let k = base.join(string(at, t, "key", &format!("{key}.tls"))?);
            for extra in t
                .keys()
                .filter(|k| !matches!(k.as_str(), "certificate" | "key"))
            {
                warn(
                    &format!("{key}.tls.{extra}"),
                    "not read by this router (rustls picks ciphers and versions)",
                );
            }
            Some(
                ServerTls::from_pem_files(&cert, &k)
                    .map_err(|err| at.error(&format!("{key}.tls"), err.to_string()))?,
            )
        }
    };
    match e.get("type").and_then(Json::as_str) {
        Some("tcp") => {
            let port = e
                .get("port")
                .and_then(Json::as_u64)
                .and_then(|p| u16::try_from(p).ok())
                .ok_or_else(|| at.error(&format!("{key}.port"), "a port is needed"))?;
            let v6 = e.get("version").and_then(Json::as_u64) == Some(6);
            let interface = match e.get("interface").and_then(Json::as_str) {
                Some(i) => i.parse::<IpAddr>().map_err(|_| {
                    at.error(&format!("{key}.interface"), "an IP address is needed")
                })?,
                None if v6 => IpAddr::from([0u16; 8]),
                None => IpAddr::from([0u8; 4]),
            };
            Ok((Some(SocketAddr::new(interface, port)), None, tls))
        }
        Some("unix") => {
            if tls.is_some() {
                return Err(at.error(&format!("{key}.tls"), "TLS is for TCP endpoints"));
            }
            let path = base.join(string(at, e, "path", key)?);
            Ok((None, Some(path), None))
        }
        _ => Err(at.error(&format!("{key}.type"), "tcp or unix")),
    }
}
