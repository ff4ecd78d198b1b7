//! Client authentication: the credentials a session offers in HELLO, and its answers to
//! the router's CHALLENGE (`ticket`, and `wampcra` with or without a salted secret).

use std::num::NonZeroU32;

use base64::Engine;

use super::error::Error;
use crate::proto::{Dict, Value};

/// How a session authenticates.
#[derive(Clone)]
pub(crate) enum Credentials {
    /// A ticket (a shared secret sent as it is; use it over TLS).
    Ticket { authid: String, ticket: String },
    /// WAMP-CRA: an HMAC-SHA256 of the router's challenge, keyed with the secret (or a key
    /// derived from it with PBKDF2 when the router says the secret is salted).
    WampCra { authid: String, secret: String },
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secret.
        f.debug_struct("Credentials")
            .field("method", &self.method())
            .field("authid", &self.authid())
            .finish_non_exhaustive()
    }
}

impl Credentials {
    /// The method's name in HELLO.Details.authmethods.
    pub fn method(&self) -> &'static str {
        match self {
            Credentials::Ticket { .. } => "ticket",
            Credentials::WampCra { .. } => "wampcra",
        }
    }

    /// The authid announced in HELLO.
    pub fn authid(&self) -> &str {
        match self {
            Credentials::Ticket { authid, .. } | Credentials::WampCra { authid, .. } => authid,
        }
    }

    /// The AUTHENTICATE signature answering a CHALLENGE for `method` with `extra`.
    pub fn answer(&self, method: &str, extra: &Dict) -> Result<String, Error> {
        if method != self.method() {
            return Err(Error::Invalid(format!(
                "the router asks for {method} authentication, but this session offers {}",
                self.method()
            )));
        }
        match self {
            Credentials::Ticket { ticket, .. } => Ok(ticket.clone()),
            Credentials::WampCra { secret, .. } => wampcra_signature(secret, extra),
        }
    }
}

/// The WAMP-CRA signature of a CHALLENGE's `extra`: base64(HMAC-SHA256(key, challenge)),
/// where the key is the secret, or base64(PBKDF2-HMAC-SHA256(secret, salt, iterations,
/// keylen)) when `extra` names a salt. (Routers compute the expected one the same way.)
pub fn wampcra_signature(secret: &str, extra: &Dict) -> Result<String, Error> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let challenge = extra
        .get("challenge")
        .and_then(Value::as_str)
        .ok_or_else(|| Error::Protocol("a wampcra CHALLENGE without a challenge".into()))?;
    let key = match extra.get("salt").and_then(Value::as_str) {
        None => secret.as_bytes().to_vec(),
        Some(salt) => {
            let iterations = extra
                .get("iterations")
                .and_then(Value::as_u64)
                .unwrap_or(1000);
            let keylen = extra.get("keylen").and_then(Value::as_u64).unwrap_or(32);
            let iterations = u32::try_from(iterations)
                .ok()
                .and_then(NonZeroU32::new)
                .ok_or_else(|| Error::Protocol("wampcra iterations out of range".into()))?;
            let keylen = usize::try_from(keylen)
                .ok()
                .filter(|n| (1..=1024).contains(n))
                .ok_or_else(|| Error::Protocol("wampcra keylen out of range".into()))?;
            let mut derived = vec![0u8; keylen];
            ring::pbkdf2::derive(
                ring::pbkdf2::PBKDF2_HMAC_SHA256,
                iterations,
                salt.as_bytes(),
                secret.as_bytes(),
                &mut derived,
            );
            b64.encode(derived).into_bytes()
        }
    };
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &key);
    Ok(b64.encode(ring::hmac::sign(&key, challenge.as_bytes()).as_ref()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dict;

    /// `compute_wcs(derive_key("secret", "salt", 100, 16), "c")` by Autobahn for Python.
    const SALTED: &str = "MibwzAgGJEMbPiGeX/zx0RsQ3VgUyYTQWAXIfE3ojrY=";

    #[test]
    fn wampcra_matches_the_reference_algorithm() {
        // HMAC-SHA256("secret", "challenge") in base64.
        let plain = wampcra_signature("secret", &dict! { "challenge" => "challenge" });
        assert_eq!(
            plain.as_deref().unwrap_or_default(),
            "oeUF6Wxqoezggrue+wbIDxKRPSF6esKwizR2MHh9HaA="
        );
        // The salted variant uses the base64 of the derived key as the HMAC key.
        let salted = wampcra_signature(
            "secret",
            &dict! { "challenge" => "c", "salt" => "salt", "iterations" => 100, "keylen" => 16 },
        );
        assert_eq!(salted.as_deref().unwrap_or_default(), SALTED);
        assert!(wampcra_signature("secret", &Dict::new()).is_err());
    }
}
