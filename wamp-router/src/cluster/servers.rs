//! The NATS servers a node connects to, as `--cluster` names them: one URL, or several
//! separated by commas (the servers of a NATS cluster: the client moves to another when
//! one goes). Credentials may be written in a URL, `nats://user:password@host:4222` or
//! `nats://token@host:4222` (percent-encoded where they hold `@`, `:` or `/`): the NATS
//! client parses such a URL but does not send what it holds, so they are taken out here
//! and given to it as options. `tls://` asks for TLS.

use async_nats::{ConnectOptions, ServerAddr};

/// What a URL's user part says.
#[derive(Clone, PartialEq, Eq)]
enum Credentials {
    UserPassword(String, String),
    Token(String),
}

/// The servers of `--cluster`, their credentials, and how to show them.
#[derive(Clone)]
pub(crate) struct Servers {
    addrs: Vec<ServerAddr>,
    credentials: Option<Credentials>,
    /// The URLs with their secrets replaced, for logs and errors.
    shown: String,
}

impl std::fmt::Debug for Servers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown)
    }
}

impl std::fmt::Display for Servers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown)
    }
}

fn decoded(part: &str) -> Result<String, String> {
    let text = percent_encoding::percent_decode_str(part).decode_utf8();
    text.map(|t| t.into_owned())
        .map_err(|_| "the credentials in the NATS URL are not UTF-8 once decoded".to_owned())
}

impl Servers {
    /// Parses `spec` (see the module's text).
    pub fn parse(spec: &str) -> Result<Self, String> {
        let mut addrs = Vec::new();
        let mut credentials = None;
        let mut shown = Vec::new();
        for url in spec.split(',').map(str::trim).filter(|u| !u.is_empty()) {
            let addr: ServerAddr = url.parse().map_err(|e| format!("{e}"))?;
            let mut plain = addr.clone().into_inner();
            let found = match (addr.username(), addr.password()) {
                (Some(user), Some(password)) => Some(Credentials::UserPassword(
                    decoded(user)?,
                    decoded(password)?,
                )),
                (Some(token), None) => Some(Credentials::Token(decoded(token)?)),
                _ => None,
            };
            let hidden = found.is_some();
            if let Some(found) = found {
                if credentials.as_ref().is_some_and(|c| *c != found) {
                    return Err("the NATS URLs hold different credentials: one client connection has one set".into());
                }
                credentials = Some(found);
                // Cannot fail on a URL with a host, which every NATS URL has.
                let _ = plain.set_username("");
                let _ = plain.set_password(None);
            }
            let mut show = plain.clone();
            if hidden {
                let _ = show.set_username("***");
            }
            shown.push(show.to_string());
            addrs.push(ServerAddr::from_url(plain).map_err(|e| format!("{e}"))?);
        }
        if addrs.is_empty() {
            return Err("no NATS server URL".into());
        }
        Ok(Self {
            addrs,
            credentials,
            shown: shown.join(","),
        })
    }

    /// Gives `options` the credentials, if a URL held some.
    pub fn authenticate(&self, options: ConnectOptions) -> ConnectOptions {
        match self.credentials.clone() {
            Some(Credentials::UserPassword(user, password)) => {
                options.user_and_password(user, password)
            }
            Some(Credentials::Token(token)) => options.token(token),
            None => options,
        }
    }

    /// The addresses, without credentials.
    pub fn addrs(&self) -> Vec<ServerAddr> {
        self.addrs.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_come_out_of_the_urls_and_stay_out_of_sight() {
        let s = Servers::parse("nats://ann:s%40cret@127.0.0.1:4222").unwrap();
        assert!(s.credentials == Some(Credentials::UserPassword("ann".into(), "s@cret".into())));
        assert_eq!(s.to_string(), "nats://***@127.0.0.1:4222");
        assert!(!format!("{s:?}").contains("cret"));
        assert_eq!(s.addrs()[0].username(), None);
        let t = Servers::parse("tls://t0ken@a:4222, nats://b:4222").unwrap();
        assert!(t.credentials == Some(Credentials::Token("t0ken".into())));
        assert_eq!(t.addrs().len(), 2);
        assert!(t.addrs()[0].tls_required());
        assert_eq!(t.to_string(), "tls://***@a:4222,nats://b:4222");
        let plain = Servers::parse("127.0.0.1:4222").unwrap();
        assert!(plain.credentials.is_none());
        assert_eq!(plain.to_string(), "nats://127.0.0.1:4222");
    }

    #[test]
    fn bad_lists_are_refused() {
        assert!(Servers::parse("").is_err());
        assert!(Servers::parse("http://a:4222").is_err());
        assert!(Servers::parse("nats://a:b@x,nats://c:d@y").is_err());
    }
}
