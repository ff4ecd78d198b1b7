//! WAMP-SCRAM (RFC 5802 with SHA-256, Argon2id or PBKDF2 key derivation): what the client
//! and the router both compute.
//!
//! Two dialects are in use and both are spoken here:
//! - `wamp-scram`, as the WAMP spec writes it: the server nonce is the client's base64
//!   nonce followed by the server's, the channel binding part of the `AuthMessage` is
//!   `c=` + base64 of the GS2 header (`biws` without binding), and the Argon2id output is
//!   the salted password (`kdf: "argon2id13"`);
//! - `scram`, as Crossbar.io and Autobahn speak it: the server nonce is the base64 of the
//!   client's nonce bytes followed by the server's, the `AuthMessage` carries an empty
//!   `c=`, and with `kdf: "argon2id-13"` the salted password is Argon2id's output in
//!   unpadded base64 (what argon2-cffi's encoded hash holds); WELCOME carries
//!   `scram_server_signature`.
//!
//! The KDF name travels in the CHALLENGE and says how the salted password is made, so a
//! stored credential works for either dialect's clients as long as they know its KDF.

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use base64::Engine;
use ring::{digest, hmac};

/// The authentication method names: the spec's and Crossbar.io's.
pub const SPEC_METHOD: &str = "wamp-scram";
/// Crossbar.io's and Autobahn's name for it.
pub const CROSSBAR_METHOD: &str = "scram";

/// The channel binding this implementation offers: RFC 9266's `tls-exporter`, which TLS
/// 1.3 has and rustls gives (it has no `tls-unique`).
pub const TLS_EXPORTER: &str = "tls-exporter";

/// Which dialect a SCRAM exchange speaks (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// `wamp-scram`, the spec.
    Spec,
    /// `scram`, Crossbar.io and Autobahn.
    Crossbar,
}

impl Dialect {
    /// The dialect of an authmethod name.
    pub fn of(method: &str) -> Option<Self> {
        match method {
            SPEC_METHOD => Some(Self::Spec),
            CROSSBAR_METHOD => Some(Self::Crossbar),
            _ => None,
        }
    }

    /// Its authmethod name.
    pub fn method(self) -> &'static str {
        match self {
            Self::Spec => SPEC_METHOD,
            Self::Crossbar => CROSSBAR_METHOD,
        }
    }

    /// The server's nonce: the client's and `server` random bytes, combined the
    /// dialect's way. `None` when the client's nonce is not base64.
    pub fn server_nonce(self, client_nonce: &str, server: &[u8]) -> Option<String> {
        let client = STANDARD.decode(client_nonce).ok()?;
        Some(match self {
            Self::Spec => format!("{client_nonce}{}", STANDARD.encode(server)),
            Self::Crossbar => {
                let mut both = client;
                both.extend_from_slice(server);
                STANDARD.encode(both)
            }
        })
    }

    /// Whether `server_nonce` extends `client_nonce` (the client's check of a CHALLENGE).
    pub fn extends(self, server_nonce: &str, client_nonce: &str) -> bool {
        match self {
            Self::Spec => {
                server_nonce.len() > client_nonce.len() && server_nonce.starts_with(client_nonce)
            }
            Self::Crossbar => {
                match (STANDARD.decode(server_nonce), STANDARD.decode(client_nonce)) {
                    (Ok(s), Ok(c)) => s.len() > c.len() && s.starts_with(&c),
                    _ => false,
                }
            }
        }
    }
}

/// A key derivation function and its costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kdf {
    /// Argon2id version 1.3, parallelism 1; `memory` in KiB. `text_output`: the salted
    /// password is the output in unpadded base64 (`argon2id-13`, Crossbar.io's and
    /// Autobahn's), not the raw output (`argon2id13`, the spec's).
    Argon2id {
        /// The time cost.
        iterations: u32,
        /// The memory cost, KiB.
        memory: u32,
        /// The salted password is the output in unpadded base64.
        text_output: bool,
    },
    /// PBKDF2 with HMAC-SHA256.
    Pbkdf2 {
        /// The iteration count.
        iterations: u32,
    },
}

/// What can go wrong computing SCRAM values.
#[derive(Debug, thiserror::Error)]
pub enum ScramError {
    /// An unknown KDF name.
    #[error("unknown SCRAM key derivation function {0:?} (use argon2id13, argon2id-13 or pbkdf2)")]
    UnknownKdf(String),
    /// KDF parameters out of range.
    #[error("SCRAM key derivation parameters: {0}")]
    Parameters(String),
    /// A name or password SASLprep refuses.
    #[error("{0} is not a valid SASLprep string")]
    Saslprep(&'static str),
}

impl Kdf {
    /// The KDF of a CHALLENGE's `kdf`, with its `iterations` and `memory`.
    pub fn from_name(name: &str, iterations: u32, memory: Option<u32>) -> Result<Self, ScramError> {
        let argon = |text_output| match memory {
            Some(memory) => Ok(Kdf::Argon2id {
                iterations,
                memory,
                text_output,
            }),
            None => Err(ScramError::Parameters(
                "argon2id needs a memory cost".into(),
            )),
        };
        match name {
            "argon2id13" => argon(false),
            "argon2id-13" => argon(true),
            "pbkdf2" => Ok(Kdf::Pbkdf2 { iterations }),
            other => Err(ScramError::UnknownKdf(other.to_owned())),
        }
    }

    /// Its name in a CHALLENGE.
    pub fn name(self) -> &'static str {
        match self {
            Kdf::Argon2id {
                text_output: false, ..
            } => "argon2id13",
            Kdf::Argon2id {
                text_output: true, ..
            } => "argon2id-13",
            Kdf::Pbkdf2 { .. } => "pbkdf2",
        }
    }

    /// The time cost.
    pub fn iterations(self) -> u32 {
        match self {
            Kdf::Argon2id { iterations, .. } | Kdf::Pbkdf2 { iterations } => iterations,
        }
    }

    /// The memory cost in KiB (Argon2id only).
    pub fn memory(self) -> Option<u32> {
        match self {
            Kdf::Argon2id { memory, .. } => Some(memory),
            Kdf::Pbkdf2 { .. } => None,
        }
    }

    /// `SaltedPassword = KDF(Normalize(password), salt)`.
    pub fn salted_password(self, password: &str, salt: &[u8]) -> Result<Vec<u8>, ScramError> {
        let password = saslprep(password, "the password")?;
        match self {
            Kdf::Argon2id {
                iterations,
                memory,
                text_output,
            } => {
                let params = argon2::Params::new(memory, iterations, 1, Some(32))
                    .map_err(|e| ScramError::Parameters(e.to_string()))?;
                let a = argon2::Argon2::new(
                    argon2::Algorithm::Argon2id,
                    argon2::Version::V0x13,
                    params,
                );
                let mut out = [0u8; 32];
                a.hash_password_into(password.as_bytes(), salt, &mut out)
                    .map_err(|e| ScramError::Parameters(e.to_string()))?;
                Ok(if text_output {
                    STANDARD_NO_PAD.encode(out).into_bytes()
                } else {
                    out.to_vec()
                })
            }
            Kdf::Pbkdf2 { iterations } => {
                let n = std::num::NonZeroU32::new(iterations).ok_or_else(|| {
                    ScramError::Parameters("iterations must be at least 1".into())
                })?;
                let mut out = [0u8; 32];
                ring::pbkdf2::derive(
                    ring::pbkdf2::PBKDF2_HMAC_SHA256,
                    n,
                    salt,
                    password.as_bytes(),
                    &mut out,
                );
                Ok(out.to_vec())
            }
        }
    }
}

/// SASLprep (RFC 4013) of `s`; `what` names it in the error.
pub fn saslprep(s: &str, what: &'static str) -> Result<String, ScramError> {
    stringprep::saslprep(s)
        .map(|c| c.into_owned())
        .map_err(|_| ScramError::Saslprep(what))
}

fn hmac256(key: &[u8], data: &[u8]) -> [u8; 32] {
    let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data);
    let mut out = [0u8; 32];
    out.copy_from_slice(tag.as_ref());
    out
}

fn sha256(data: &[u8]) -> [u8; 32] {
    let d = digest::digest(&digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// What the server stores for a user: the keys made from the salted password.
#[derive(Clone, PartialEq, Eq)]
pub struct Keys {
    /// `SHA256(HMAC(SaltedPassword, "Client Key"))`.
    pub stored_key: [u8; 32],
    /// `HMAC(SaltedPassword, "Server Key")`.
    pub server_key: [u8; 32],
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys(…)")
    }
}

impl Keys {
    /// The keys of a salted password.
    pub fn of(salted_password: &[u8]) -> Self {
        Self {
            stored_key: sha256(&client_key(salted_password)),
            server_key: hmac256(salted_password, b"Server Key"),
        }
    }

    /// Whether `proof` (the AUTHENTICATE signature, decoded) proves the password for
    /// `auth_message`: `SHA256(HMAC(StoredKey, AuthMessage) XOR proof) == StoredKey`.
    pub fn verify(&self, auth_message: &str, proof: &[u8]) -> bool {
        if proof.len() != 32 {
            return false;
        }
        let signature = hmac256(&self.stored_key, auth_message.as_bytes());
        let mut key = [0u8; 32];
        for (k, (s, p)) in key.iter_mut().zip(signature.iter().zip(proof)) {
            *k = s ^ p;
        }
        // Constant time: every byte is looked at whatever differs.
        sha256(&key)
            .iter()
            .zip(&self.stored_key)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    }

    /// `ServerSignature = HMAC(ServerKey, AuthMessage)`.
    pub fn server_signature(&self, auth_message: &str) -> [u8; 32] {
        hmac256(&self.server_key, auth_message.as_bytes())
    }
}

fn client_key(salted_password: &[u8]) -> [u8; 32] {
    hmac256(salted_password, b"Client Key")
}

/// `ClientProof = ClientKey XOR HMAC(StoredKey, AuthMessage)`.
pub fn client_proof(salted_password: &[u8], auth_message: &str) -> [u8; 32] {
    let ck = client_key(salted_password);
    let signature = hmac256(&sha256(&ck), auth_message.as_bytes());
    let mut proof = [0u8; 32];
    for (p, (c, s)) in proof.iter_mut().zip(ck.iter().zip(signature)) {
        *p = c ^ s;
    }
    proof
}

/// The values an `AuthMessage` is made of.
#[derive(Debug, Clone)]
pub struct Exchange<'a> {
    /// Whose rules make the message.
    pub dialect: Dialect,
    /// The HELLO's authid (SASLprep-normalized here).
    pub authid: &'a str,
    /// The client's nonce, base64, as HELLO carries it.
    pub client_nonce: &'a str,
    /// The server's nonce, as CHALLENGE carries it.
    pub server_nonce: &'a str,
    /// The salt, base64, as the CHALLENGE carries it.
    pub salt: &'a str,
    /// The KDF's time cost, as CHALLENGE carries it.
    pub iterations: u32,
    /// The channel binding type and its data, when the exchange is bound.
    pub binding: Option<(&'a str, &'a [u8])>,
}

impl Exchange<'_> {
    /// `ClientFirstBare + "," + ServerFirst + "," + ClientFinalNoProof`.
    pub fn auth_message(&self) -> Result<String, ScramError> {
        let authid = saslprep(self.authid, "the authid")?;
        let name = match self.dialect {
            Dialect::Spec => authid.replace('=', "=3D").replace(',', "=2C"),
            Dialect::Crossbar => authid,
        };
        let channel = match (self.dialect, self.binding) {
            (Dialect::Crossbar, None) => String::new(),
            (_, None) => STANDARD.encode("n,,"),
            (_, Some((kind, data))) => {
                let mut input = format!("p={kind},,").into_bytes();
                input.extend_from_slice(data);
                STANDARD.encode(input)
            }
        };
        Ok(format!(
            "n={name},r={},r={},s={},i={},c={channel},r={}",
            self.client_nonce, self.server_nonce, self.salt, self.iterations, self.server_nonce
        ))
    }
}

/// A stored credential: what a router keeps for a user (never the password).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    /// How the salted password is made.
    pub kdf: Kdf,
    /// The per-user random salt.
    pub salt: Vec<u8>,
    /// The stored and server keys.
    pub keys: Keys,
}

impl Credential {
    /// Derives the credential of `password` with `kdf` and a new random 16-byte salt.
    pub fn new(password: &str, kdf: Kdf) -> Result<Self, ScramError> {
        let salt: [u8; 16] = rand::random();
        Self::with_salt(password, kdf, &salt)
    }

    /// Derives the credential of `password` with `kdf` and `salt`.
    pub fn with_salt(password: &str, kdf: Kdf, salt: &[u8]) -> Result<Self, ScramError> {
        let salted = kdf.salted_password(password, salt)?;
        Ok(Self {
            kdf,
            salt: salt.to_vec(),
            keys: Keys::of(&salted),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// RFC 7677's SCRAM-SHA-256 example: PBKDF2, 4096 iterations, without channel binding
    /// (the spec's AuthMessage is RFC 5802's, so its vectors hold).
    #[test]
    fn rfc7677_vector() {
        let salt = STANDARD.decode("W22ZaJ0SNY7soEsUEjb6gQ==").unwrap();
        let salted = Kdf::Pbkdf2 { iterations: 4096 }
            .salted_password("pencil", &salt)
            .unwrap();
        let e = Exchange {
            dialect: Dialect::Spec,
            authid: "user",
            client_nonce: "rOprNGfwEbeRWgbNEkqO",
            server_nonce: "rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
            salt: "W22ZaJ0SNY7soEsUEjb6gQ==",
            iterations: 4096,
            binding: None,
        };
        let m = e.auth_message().unwrap();
        assert_eq!(
            STANDARD.encode(client_proof(&salted, &m)),
            "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
        );
        let keys = Keys::of(&salted);
        assert_eq!(
            STANDARD.encode(keys.server_signature(&m)),
            "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
        );
        assert!(keys.verify(&m, &client_proof(&salted, &m)));
        assert!(!keys.verify(&m, &[0u8; 32]));
        assert!(!keys.verify(&m, &[0u8; 3]));
    }

    /// `derive_scram_credential("sam", "sam-password")` by Autobahn|Python 26.10 (what a
    /// Crossbar.io config.json principal holds): the same keys from the same password.
    #[test]
    fn autobahn_credential() {
        let salt = hex::decode("e96e02d8e47f2a7c03be5117b3ed175c").unwrap();
        let kdf = Kdf::from_name("argon2id-13", 4096, Some(512)).unwrap();
        let c = Credential::with_salt("sam-password", kdf, &salt).unwrap();
        assert_eq!(
            hex::encode(c.keys.stored_key),
            "84bfd3be3ec73c01291012f1c6efe9c046af686c0f4c6ff7eb447d258b33f590"
        );
        assert_eq!(
            hex::encode(c.keys.server_key),
            "d0b352a239d888ddf4b449d7c1280b7c0b85af185ef49900a4a873bf8e1d1d3f"
        );
    }

    #[test]
    fn nonces_and_names_per_dialect() {
        let client = STANDARD.encode([7u8; 16]);
        for d in [Dialect::Spec, Dialect::Crossbar] {
            let server = d.server_nonce(&client, &[9u8; 16]).unwrap();
            assert!(d.extends(&server, &client), "{d:?}");
            assert!(!d.extends(&client, &client), "{d:?}");
            assert_eq!(Dialect::of(d.method()), Some(d));
        }
        assert!(Dialect::Spec.server_nonce("not base64!", &[1]).is_none());
        let kdf = Kdf::from_name("argon2id-13", 2, Some(64)).unwrap();
        assert_eq!(kdf.name(), "argon2id-13");
        assert!(Kdf::from_name("argon2id13", 2, None).is_err());
        assert!(Kdf::from_name("scrypt", 2, None).is_err());
    }

    #[test]
    fn argon2_outputs_raw_or_as_text() {
        let salt = [1u8; 16];
        let raw = Kdf::Argon2id {
            iterations: 1,
            memory: 64,
            text_output: false,
        };
        let text = Kdf::Argon2id {
            iterations: 1,
            memory: 64,
            text_output: true,
        };
        let a = raw.salted_password("secret", &salt).unwrap();
        let b = text.salted_password("secret", &salt).unwrap();
        assert_eq!(a.len(), 32);
        assert_eq!(b, STANDARD_NO_PAD.encode(&a).into_bytes());
    }

    #[test]
    fn crossbar_auth_message_has_an_empty_channel_part() {
        let e = Exchange {
            dialect: Dialect::Crossbar,
            authid: "a",
            client_nonce: "x",
            server_nonce: "xy",
            salt: "s",
            iterations: 1,
            binding: None,
        };
        assert_eq!(e.auth_message().unwrap(), "n=a,r=x,r=xy,s=s,i=1,c=,r=xy");
        let bound = Exchange {
            dialect: Dialect::Spec,
            authid: "a=b,c",
            binding: Some((TLS_EXPORTER, &[1, 2])),
            ..e
        };
        let m = bound.auth_message().unwrap();
        assert!(m.starts_with("n=a=3Db=2Cc,"), "{m}");
        let mut header = b"p=tls-exporter,,".to_vec();
        header.extend_from_slice(&[1, 2]);
        assert!(m.contains(&format!("c={}", STANDARD.encode(header))), "{m}");
    }
}
