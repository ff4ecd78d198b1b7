//! Client authentication: the credentials a session offers in HELLO, and its answers to
//! the router's CHALLENGE (`ticket`, `wampcra` with or without a salted secret,
//! `cryptosign` with an Ed25519 key, and WAMP-SCRAM with a password, the last two
//! optionally bound to the TLS channel), and the check of the router's proof in WELCOME
//! (SCRAM's server signature).

use std::num::NonZeroU32;
use std::sync::Arc;

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
    /// WAMP-Cryptosign: an Ed25519 signature of the router's challenge; `channel_binding`
    /// asks for `tls-exporter` binding.
    Cryptosign {
        key: CryptosignKey,
        channel_binding: bool,
    },
    /// WAMP-SCRAM: a password the router knows only salted and hashed; offered as both
    /// `wamp-scram` (the spec) and `scram` (Crossbar.io); `channel_binding` asks for
    /// `tls-exporter` binding.
    Scram {
        authid: String,
        password: String,
        channel_binding: bool,
    },
}

/// One authentication in progress: what the HELLO said and what WELCOME must prove.
#[derive(Debug, Default)]
pub(crate) struct Handshake {
    /// The SCRAM client nonce sent in HELLO.
    nonce: String,
    /// The SCRAM server signature WELCOME must carry.
    server_signature: Option<[u8; 32]>,
}

impl Handshake {
    pub fn new() -> Self {
        Self {
            nonce: base64::engine::general_purpose::STANDARD.encode(rand::random::<[u8; 16]>()),
            server_signature: None,
        }
    }

    /// Checks WELCOME's proof that the router knew the password (SCRAM's
    /// `scram_server_signature`, Crossbar.io's, or the spec's `verifier`).
    pub fn check_welcome(&self, details: &Dict) -> Result<(), Error> {
        let Some(expected) = self.server_signature else {
            return Ok(());
        };
        let extra = details.get("authextra").and_then(Value::as_dict);
        let given = extra
            .and_then(|e| {
                e.get("scram_server_signature")
                    .or_else(|| e.get("verifier"))
            })
            .and_then(Value::as_str)
            .map(|s| s.strip_prefix("v=").unwrap_or(s));
        let decoded = given.and_then(|s| base64::engine::general_purpose::STANDARD.decode(s).ok());
        match decoded {
            Some(sig) if sig == expected => Ok(()),
            Some(_) => Err(Error::Invalid(
                "the router's SCRAM server signature is wrong: it does not know this password"
                    .into(),
            )),
            None => Err(Error::Invalid(
                "the router's WELCOME has no SCRAM server signature".into(),
            )),
        }
    }
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
            Credentials::Cryptosign { .. } => "cryptosign",
            Credentials::Scram { .. } => crate::scram::SPEC_METHOD,
        }
    }

    /// The methods offered in HELLO.Details.authmethods, preferred first.
    pub fn methods(&self) -> Vec<&'static str> {
        match self {
            Credentials::Scram { .. } => {
                vec![crate::scram::SPEC_METHOD, crate::scram::CROSSBAR_METHOD]
            }
            other => vec![other.method()],
        }
    }

    /// The authid announced in HELLO (cryptosign takes the builder's, or leaves it to the
    /// router).
    pub fn authid(&self) -> Option<&str> {
        match self {
            Credentials::Ticket { authid, .. }
            | Credentials::WampCra { authid, .. }
            | Credentials::Scram { authid, .. } => Some(authid),
            Credentials::Cryptosign { .. } => None,
        }
    }

    /// HELLO.Details.authextra, for the methods that have one.
    pub fn authextra(&self, handshake: &Handshake) -> Option<Dict> {
        if let Credentials::Scram {
            channel_binding, ..
        } = self
        {
            let mut extra = Dict::new();
            extra.insert("nonce".into(), Value::Str(handshake.nonce.clone()));
            let binding = match channel_binding {
                true => Value::Str(TLS_EXPORTER.into()),
                false => Value::Null,
            };
            extra.insert("channel_binding".into(), binding);
            return Some(extra);
        }
        let Credentials::Cryptosign {
            key,
            channel_binding,
            ..
        } = self
        else {
            return None;
        };
        let mut extra = Dict::new();
        extra.insert("pubkey".into(), Value::Str(key.public_key_hex()));
        let binding = match channel_binding {
            true => Value::Str(TLS_EXPORTER.into()),
            false => Value::Null,
        };
        extra.insert("channel_binding".into(), binding);
        Some(extra)
    }

    /// The AUTHENTICATE signature and extra answering a CHALLENGE for `method` with
    /// `extra`, on a transport with this `tls-exporter` channel binding (TLS only).
    pub async fn answer(
        &self,
        handshake: &mut Handshake,
        method: &str,
        extra: &Dict,
        transport_binding: Option<[u8; 32]>,
    ) -> Result<(String, Dict), Error> {
        if let Credentials::Scram {
            authid,
            password,
            channel_binding,
        } = self
        {
            let dialect = crate::scram::Dialect::of(method).ok_or_else(|| {
                Error::Invalid(format!(
                    "the router asks for {method} authentication, but this session offers wamp-scram"
                ))
            })?;
            let binding = match (channel_binding, transport_binding) {
                (false, _) => None,
                (true, Some(b)) => Some(b),
                (true, None) => {
                    return Err(Error::Invalid(
                        "channel binding needs a TLS connection".into(),
                    ))
                }
            };
            let scram = ScramAnswer {
                dialect,
                authid: authid.clone(),
                password: password.clone(),
                client_nonce: handshake.nonce.clone(),
                binding,
            };
            let extra = extra.clone();
            // The KDF is meant to be slow: off the async threads.
            let (signature, extra, server_signature) =
                tokio::task::spawn_blocking(move || scram.answer(&extra))
                    .await
                    .map_err(|e| Error::Invalid(format!("SCRAM computation failed: {e}")))??;
            handshake.server_signature = Some(server_signature);
            return Ok((signature, extra));
        }
        self.answer_plain(method, extra, transport_binding)
            .map(|s| (s, Dict::new()))
    }

    fn answer_plain(
        &self,
        method: &str,
        extra: &Dict,
        transport_binding: Option<[u8; 32]>,
    ) -> Result<String, Error> {
        if method != self.method() {
            return Err(Error::Invalid(format!(
                "the router asks for {method} authentication, but this session offers {}",
                self.method()
            )));
        }
        match self {
            Credentials::Ticket { ticket, .. } => Ok(ticket.clone()),
            Credentials::WampCra { secret, .. } => wampcra_signature(secret, extra),
            Credentials::Cryptosign {
                key,
                channel_binding,
                ..
            } => {
                let mut message = [0u8; 32];
                extra
                    .get("challenge")
                    .and_then(Value::as_str)
                    .and_then(|c| hex::decode_to_slice(c, &mut message).ok())
                    .ok_or_else(|| {
                        Error::Protocol("a cryptosign CHALLENGE without a 32-byte challenge".into())
                    })?;
                let granted = extra.get("channel_binding").and_then(Value::as_str);
                match (channel_binding, granted) {
                    (false, None) => {}
                    (true, Some(TLS_EXPORTER)) => {
                        let binding = transport_binding.ok_or_else(|| {
                            Error::Invalid("channel binding needs a TLS connection".into())
                        })?;
                        for (m, b) in message.iter_mut().zip(binding) {
                            *m ^= b;
                        }
                    }
                    (asked, granted) => {
                        return Err(Error::Invalid(format!(
                            "channel binding: asked for {}, the router uses {granted:?}",
                            if *asked { TLS_EXPORTER } else { "none" }
                        )))
                    }
                }
                Ok(key.sign_hex(&message))
            }
            Credentials::Scram { .. } => Err(Error::Invalid("SCRAM is answered apart".into())),
        }
    }
}

/// The largest SCRAM costs a client accepts from a CHALLENGE (a rogue router could ask
/// for gigabytes of memory or hours of work).
const MAX_ARGON2_MEMORY_KIB: u32 = 256 * 1024;
const MAX_ARGON2_ITERATIONS: u32 = 100_000;
const MAX_PBKDF2_ITERATIONS: u32 = 10_000_000;
/// The least PBKDF2 iterations a client accepts (RFC 7677 recommends 4096 at least): fewer
/// would hand a rogue router an easily cracked hash.
const MIN_PBKDF2_ITERATIONS: u32 = 1000;

/// What a SCRAM answer needs, owned (it is computed on a blocking thread).
struct ScramAnswer {
    dialect: crate::scram::Dialect,
    authid: String,
    password: String,
    client_nonce: String,
    binding: Option<[u8; 32]>,
}

impl ScramAnswer {
    /// The ClientProof (base64), the AUTHENTICATE extra, and the server signature that
    /// WELCOME must carry.
    fn answer(&self, challenge: &Dict) -> Result<(String, Dict, [u8; 32]), Error> {
        use crate::scram::{Exchange, Kdf, Keys};
        let b64 = base64::engine::general_purpose::STANDARD;
        let bad = |what: &str| Error::Protocol(format!("a SCRAM CHALLENGE with {what}"));
        let text = |k: &str| challenge.get(k).and_then(Value::as_str);
        let number = |k: &str| {
            challenge
                .get(k)
                .and_then(Value::as_u64)
                .and_then(|n| u32::try_from(n).ok())
        };
        let server_nonce = text("nonce").ok_or_else(|| bad("no nonce"))?;
        if !self.dialect.extends(server_nonce, &self.client_nonce) {
            return Err(bad("a nonce that does not extend this client's"));
        }
        let salt_text = text("salt").ok_or_else(|| bad("no salt"))?;
        let salt = b64
            .decode(salt_text)
            .map_err(|_| bad("a salt that is not base64"))?;
        let iterations = number("iterations").ok_or_else(|| bad("no iterations"))?;
        let kdf = Kdf::from_name(
            text("kdf").ok_or_else(|| bad("no kdf"))?,
            iterations,
            number("memory"),
        )
        .map_err(|e| Error::Protocol(e.to_string()))?;
        let too_costly = match kdf {
            Kdf::Argon2id { memory, .. } => {
                memory > MAX_ARGON2_MEMORY_KIB || iterations > MAX_ARGON2_ITERATIONS
            }
            Kdf::Pbkdf2 { .. } => iterations > MAX_PBKDF2_ITERATIONS,
        };
        if too_costly {
            return Err(bad("costs beyond what this client computes"));
        }
        if matches!(kdf, Kdf::Pbkdf2 { .. }) && iterations < MIN_PBKDF2_ITERATIONS {
            return Err(bad("fewer PBKDF2 iterations than is safe (1000)"));
        }
        let exchange = Exchange {
            dialect: self.dialect,
            authid: &self.authid,
            client_nonce: &self.client_nonce,
            server_nonce,
            salt: salt_text,
            iterations,
            binding: self
                .binding
                .as_ref()
                .map(|b| (crate::scram::TLS_EXPORTER, &b[..])),
        };
        let message = exchange
            .auth_message()
            .map_err(|e| Error::Invalid(e.to_string()))?;
        let salted = kdf
            .salted_password(&self.password, &salt)
            .map_err(|e| Error::Invalid(e.to_string()))?;
        let proof = crate::scram::client_proof(&salted, &message);
        let server_signature = Keys::of(&salted).server_signature(&message);
        let mut extra = Dict::new();
        if self.dialect == crate::scram::Dialect::Spec {
            extra.insert("nonce".into(), Value::Str(server_nonce.to_owned()));
            match &self.binding {
                Some(b) => {
                    extra.insert("channel_binding".into(), Value::Str(TLS_EXPORTER.into()));
                    extra.insert("cbind_data".into(), Value::Str(b64.encode(b)));
                }
                None => {
                    extra.insert("channel_binding".into(), Value::Null);
                    extra.insert("cbind_data".into(), Value::Null);
                }
            }
        }
        Ok((b64.encode(proof), extra, server_signature))
    }
}

/// RFC 9266's channel binding type for TLS 1.3 (and 1.2 with extended master secret).
const TLS_EXPORTER: &str = "tls-exporter";

/// An Ed25519 key for WAMP-Cryptosign authentication.
#[derive(Clone)]
pub struct CryptosignKey {
    pair: Arc<ring::signature::Ed25519KeyPair>,
    seed: Arc<[u8; 32]>,
}

impl std::fmt::Debug for CryptosignKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The public half only.
        write!(f, "CryptosignKey({})", self.public_key_hex())
    }
}

impl CryptosignKey {
    /// The key of a 32-byte private seed (what Autobahn's `SigningKey.from_key_bytes`
    /// and PyNaCl's `SigningKey(seed)` take).
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        // A 32-byte seed is always a valid Ed25519 private key.
        match ring::signature::Ed25519KeyPair::from_seed_unchecked(seed) {
            Ok(pair) => Self {
                pair: Arc::new(pair),
                seed: Arc::new(*seed),
            },
            Err(_) => unreachable!("every 32-byte seed is an Ed25519 key"),
        }
    }

    /// The key of a private seed written as 64 hex digits.
    pub fn from_hex(seed: &str) -> Result<Self, Error> {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(seed.trim(), &mut bytes).map_err(|_| {
            Error::Invalid("a cryptosign private key is 32 bytes in hex (64 digits)".into())
        })?;
        Ok(Self::from_seed(&bytes))
    }

    /// A new random key.
    pub fn generate() -> Self {
        Self::from_seed(&rand::random())
    }

    /// The 32-byte public key (what the router is configured with).
    pub fn public_key(&self) -> [u8; 32] {
        use ring::signature::KeyPair;
        let mut key = [0u8; 32];
        key.copy_from_slice(self.pair.public_key().as_ref());
        key
    }

    /// The private seed in hex (what [`from_hex`](Self::from_hex) reads back): keep it
    /// secret.
    pub fn private_key_hex(&self) -> String {
        hex::encode(*self.seed)
    }

    /// The public key in hex.
    pub fn public_key_hex(&self) -> String {
        hex::encode(self.public_key())
    }

    /// The hex of the signature of `message` followed by `message`: WAMP-Cryptosign's
    /// AUTHENTICATE signature.
    pub fn sign_hex(&self, message: &[u8; 32]) -> String {
        let mut out = Vec::with_capacity(96);
        out.extend_from_slice(self.pair.sign(message).as_ref());
        out.extend_from_slice(message);
        hex::encode(out)
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

    /// WELCOME must prove the router knew the password: the right signature under either
    /// key passes, a wrong or missing one fails the join.
    #[test]
    fn a_scram_welcome_must_carry_the_server_signature() {
        let b64 = base64::engine::general_purpose::STANDARD;
        let mut h = Handshake::new();
        assert!(
            h.check_welcome(&Dict::new()).is_ok(),
            "nothing to check without SCRAM"
        );
        h.server_signature = Some([7u8; 32]);
        let welcome = |key: &str, sig: String| {
            let mut extra = Dict::new();
            extra.insert(key.into(), Value::Str(sig));
            let mut d = Dict::new();
            d.insert("authextra".into(), Value::Dict(extra));
            d
        };
        let good = b64.encode([7u8; 32]);
        assert!(h
            .check_welcome(&welcome("scram_server_signature", good.clone()))
            .is_ok());
        assert!(h
            .check_welcome(&welcome("verifier", format!("v={good}")))
            .is_ok());
        let bad = b64.encode([8u8; 32]);
        assert!(h
            .check_welcome(&welcome("scram_server_signature", bad))
            .is_err());
        assert!(h.check_welcome(&Dict::new()).is_err());
    }

    /// A CHALLENGE a client must not compute: a nonce that is not its own, costs a rogue
    /// router could abuse, too few PBKDF2 iterations, an unknown KDF.
    #[test]
    fn rogue_scram_challenges_are_refused() {
        let b64 = base64::engine::general_purpose::STANDARD;
        let client_nonce = b64.encode([1u8; 16]);
        let answer = ScramAnswer {
            dialect: crate::scram::Dialect::Spec,
            authid: "a".into(),
            password: "p".into(),
            client_nonce: client_nonce.clone(),
            binding: None,
        };
        let challenge = |nonce: &str, kdf: &str, iterations: u64, memory: Option<u64>| {
            let mut d = dict! {
                "nonce" => nonce.to_owned(),
                "salt" => b64.encode([2u8; 16]),
                "kdf" => kdf.to_owned(),
                "iterations" => iterations
            };
            if let Some(m) = memory {
                d.insert("memory".into(), Value::from(m));
            }
            d
        };
        let ours = format!("{client_nonce}{}", b64.encode([3u8; 16]));
        assert!(answer
            .answer(&challenge(&ours, "pbkdf2", 4096, None))
            .is_ok());
        for (c, why) in [
            (
                challenge("bm90IG1pbmU=", "pbkdf2", 4096, None),
                "another nonce",
            ),
            (
                challenge(&ours, "argon2id13", 2, Some(4 * 1024 * 1024)),
                "4 GiB",
            ),
            (
                challenge(&ours, "argon2id13", 1_000_000, Some(64)),
                "a million passes",
            ),
            (challenge(&ours, "pbkdf2", 10, None), "ten iterations"),
            (challenge(&ours, "scrypt", 10, None), "an unknown KDF"),
        ] {
            assert!(answer.answer(&c).is_err(), "{why}");
        }
    }

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
