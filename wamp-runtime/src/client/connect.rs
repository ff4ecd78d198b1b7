//! Opening a session: the builder, the transport, and the HELLO/WELCOME handshake.

use std::sync::Arc;
use std::time::Duration;

use super::auth::{Credentials, Handshake};
use super::error::{Error, WampError};
use super::reconnect::{open_retrying, GaveUp, ReconnectPolicy, Retrying};
use super::shared::{SessionConfig, SessionInfo};
use super::{task, Session};
use crate::proto::{error as uris, is_valid_uri, Dict, Message, UriRule, Value};
use crate::serializer::Serializer;
use crate::transport::{ConnectOptions, Endpoint, Transport, TransportError};

/// Configures and opens a [`Session`]; made by [`Session::builder`].
#[derive(Debug, Clone)]
pub struct SessionBuilder {
    endpoint: Endpoint,
    realm: String,
    serializer: Serializer,
    connect_timeout: Duration,
    request_timeout: Duration,
    call_timeout: Option<Duration>,
    subscription_buffer: usize,
    max_message_size: usize,
    tls: Option<Arc<rustls::ClientConfig>>,
    authid: Option<String>,
    credentials: Option<Credentials>,
    agent: String,
    reconnect: Option<ReconnectPolicy>,
    keepalive: Option<Duration>,
}

impl SessionBuilder {
    pub(crate) fn new(endpoint: Endpoint, realm: String) -> Self {
        Self {
            endpoint,
            realm,
            serializer: Serializer::Json,
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            call_timeout: None,
            subscription_buffer: 1024,
            max_message_size: 16 * 1024 * 1024,
            tls: None,
            authid: None,
            credentials: None,
            agent: concat!("wamp-runtime/", env!("CARGO_PKG_VERSION")).into(),
            reconnect: None,
            keepalive: Some(Duration::from_secs(30)),
        }
    }

    /// The serializer to speak (default JSON). In-process sessions serialize nothing.
    pub fn serializer(mut self, serializer: Serializer) -> Self {
        self.serializer = serializer;
        self
    }

    /// How long connecting and joining may take (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long subscribe, register, acknowledged publish, unsubscribe, unregister and
    /// leave wait for the router (default 30 s).
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// A default timeout for every call (default none: a call waits for its result as long
    /// as the session lives). A call's own [`timeout`](super::Call::timeout) wins.
    pub fn call_timeout(mut self, timeout: Duration) -> Self {
        self.call_timeout = Some(timeout);
        self
    }

    /// How many events each subscription buffers for a consumer that has not read them
    /// yet (default 1024). When it is full, further events for it are dropped and counted
    /// ([`Subscription::dropped`](super::Subscription::dropped)): a slow consumer never
    /// stalls the session's calls or other subscriptions.
    pub fn subscription_buffer(mut self, events: usize) -> Self {
        self.subscription_buffer = events.max(1);
        self
    }

    /// How often the connection checks that the router still answers (default 30 s):
    /// when nothing arrives for that long, a ping goes out (WebSocket or RawSocket), and
    /// a connection that stays silent for another interval is closed as lost — so a
    /// router host that vanished without closing the connection is noticed, and a
    /// session with a [`reconnect`](Self::reconnect) policy comes back. `Duration::ZERO`
    /// turns it off.
    pub fn keepalive(mut self, interval: Duration) -> Self {
        self.keepalive = (!interval.is_zero()).then_some(interval);
        self
    }

    /// The largest message accepted from the router, in bytes (default 16 MiB).
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.max_message_size = bytes;
        self
    }

    /// TLS settings for `wss://` URLs (default: the Mozilla root certificates).
    pub fn tls_config(mut self, config: Arc<rustls::ClientConfig>) -> Self {
        self.tls = Some(config);
        self
    }

    /// The authentication ID announced in HELLO.
    pub fn authid(mut self, authid: impl Into<String>) -> Self {
        self.authid = Some(authid.into());
        self
    }

    /// Authenticates with a ticket (`ticket` method): send it only over TLS or a trusted
    /// network.
    pub fn ticket(mut self, authid: impl Into<String>, ticket: impl Into<String>) -> Self {
        self.credentials = Some(Credentials::Ticket {
            authid: authid.into(),
            ticket: ticket.into(),
        });
        self
    }

    /// Authenticates with WAMP-CRA (`wampcra` method): the secret never travels; salted
    /// secrets (PBKDF2 parameters in the challenge) are handled.
    pub fn wampcra(mut self, authid: impl Into<String>, secret: impl Into<String>) -> Self {
        self.credentials = Some(Credentials::WampCra {
            authid: authid.into(),
            secret: secret.into(),
        });
        self
    }

    /// Authenticates with WAMP-Cryptosign (`cryptosign` method): the router knows the
    /// public key; the private key never leaves. The authid is the one set with
    /// [`authid`](Self::authid), or the router chooses it.
    pub fn cryptosign(mut self, key: super::CryptosignKey) -> Self {
        self.credentials = Some(Credentials::Cryptosign {
            key,
            channel_binding: false,
        });
        self
    }

    /// Authenticates with WAMP-SCRAM: the router stores only a salted hash of the password
    /// and proves in WELCOME that it knows it (a router that cannot is refused). Offered
    /// as `wamp-scram` (the spec) and `scram` (Crossbar.io's and Autobahn's name); the
    /// router's CHALLENGE says which dialect and KDF (Argon2id or PBKDF2) apply.
    pub fn scram(mut self, authid: impl Into<String>, password: impl Into<String>) -> Self {
        self.credentials = Some(Credentials::Scram {
            authid: authid.into(),
            password: password.into(),
            channel_binding: false,
        });
        self
    }

    /// With [`cryptosign`](Self::cryptosign) or [`scram`](Self::scram) over TLS: binds the
    /// authentication to this TLS connection (`tls-exporter`, RFC 9266), so a man in the
    /// middle cannot relay it. The router must support it, or joining fails.
    pub fn channel_binding(mut self, enabled: bool) -> Self {
        match &mut self.credentials {
            Some(Credentials::Cryptosign {
                channel_binding, ..
            })
            | Some(Credentials::Scram {
                channel_binding, ..
            }) => *channel_binding = enabled,
            _ => {}
        }
        self
    }

    /// The agent string announced in HELLO.
    pub fn agent(mut self, agent: impl Into<String>) -> Self {
        self.agent = agent.into();
        self
    }

    /// Makes the session come back by itself when its connection is lost or the router
    /// ends it (see [`ReconnectPolicy`]): it reconnects with backoff, joins again with the
    /// same realm and credentials, and registers and subscribes again everything it
    /// held. [`connect`](Self::connect) also retries while the router cannot be reached
    /// (an ABORT, such as a refused authentication, fails at once). Without a policy
    /// (the default), a lost connection closes the session.
    pub fn reconnect(mut self, policy: ReconnectPolicy) -> Self {
        self.reconnect = Some(policy);
        self
    }

    /// The reconnect policy, if any.
    pub(crate) fn reconnect_policy(&self) -> Option<&ReconnectPolicy> {
        self.reconnect.as_ref()
    }

    /// Connects, joins the realm, and returns the session. With a
    /// [`reconnect`](Self::reconnect) policy, failures to reach the router are retried by
    /// it, and the last one is returned when it gives up.
    pub async fn connect(self) -> Result<Session, Error> {
        if !is_valid_uri(&self.realm, UriRule::Loose) {
            return Err(Error::Invalid(format!(
                "invalid realm name {:?}",
                self.realm
            )));
        }
        let (transport, info) = match &self.reconnect {
            None => self.open().await?,
            Some(policy) => {
                let log = |attempt, delay| {
                    tracing::info!(attempt, ?delay, "cannot reach the router, retrying");
                };
                match open_retrying(&self, policy, Retrying::Connect, log).await {
                    Ok((joined, _)) => joined,
                    Err(GaveUp { last, .. }) => {
                        let none =
                            || Error::Invalid("the reconnect policy allows no attempt".into());
                        return Err(last.unwrap_or_else(none));
                    }
                }
            }
        };
        let config = SessionConfig {
            request_timeout: self.request_timeout,
            call_timeout: self.call_timeout,
            subscription_buffer: self.subscription_buffer,
            wait_while_disconnected: self
                .reconnect
                .as_ref()
                .is_some_and(|p| p.wait_while_disconnected),
            wire: super::outgoing::Wire::of(transport.serializer),
        };
        let rejoin = self.reconnect.is_some().then(|| Box::new(self));
        Ok(Session::from_shared(task::start(
            transport, info, config, rejoin,
        )))
    }

    /// Connects and joins within the connect timeout: the transport and what WELCOME
    /// said.
    pub(crate) async fn open(&self) -> Result<(Transport, SessionInfo), Error> {
        let timeout = self.connect_timeout;
        tokio::time::timeout(timeout, self.join())
            .await
            .map_err(|_| Error::ConnectTimeout(timeout))?
    }

    /// Joins, offering the credentials' methods. A router that refuses WAMP-SCRAM's
    /// `wamp-scram` at HELLO (Crossbar.io refuses any method it does not know) is asked
    /// again with Crossbar.io's `scram` alone.
    async fn join(&self) -> Result<(Transport, SessionInfo), Error> {
        let scram = matches!(self.credentials, Some(Credentials::Scram { .. }));
        match self.join_offering(None).await {
            Err((Error::Aborted(e), false)) if scram => {
                tracing::debug!(
                    "the router refused wamp-scram ({}): trying Crossbar.io's scram",
                    e.uri
                );
                let only = vec![crate::scram::CROSSBAR_METHOD];
                self.join_offering(Some(only)).await.map_err(|(e, _)| e)
            }
            other => other.map_err(|(e, _)| e),
        }
    }

    /// Joins offering `methods` (default: the credentials'); an error says whether the
    /// router had challenged.
    async fn join_offering(
        &self,
        methods: Option<Vec<&'static str>>,
    ) -> Result<(Transport, SessionInfo), (Error, bool)> {
        let mut challenged = false;
        self.join_attempt(methods, &mut challenged)
            .await
            .map_err(|e| (e, challenged))
    }

    async fn join_attempt(
        &self,
        methods: Option<Vec<&'static str>>,
        challenged: &mut bool,
    ) -> Result<(Transport, SessionInfo), Error> {
        let options = ConnectOptions {
            serializer: self.serializer,
            max_message_size: self.max_message_size,
            tls: self.tls.clone(),
            keepalive: self.keepalive,
        };
        let mut transport = self.endpoint.connect(&options).await?;
        let mut handshake = Handshake::new();
        let hello = Message::Hello {
            realm: self.realm.clone(),
            details: self.hello_details(&handshake, methods),
        };
        transport
            .outgoing
            .send(hello)
            .await
            .map_err(|_| closed_early())?;
        let mut first = transport.incoming.recv().await;
        if let Some(Ok(Message::Challenge { auth_method, extra })) = &first {
            *challenged = true;
            let answer = match &self.credentials {
                Some(c) => {
                    let binding = transport.channel_binding;
                    c.answer(&mut handshake, auth_method, extra, binding).await
                }
                None => Err(Error::Invalid(format!(
                    "the router asks for {auth_method} authentication, and this session has no credentials"
                ))),
            };
            let (signature, answer_extra) = match answer {
                Ok(s) => s,
                Err(e) => {
                    abort(
                        &transport.outgoing,
                        uris::AUTHENTICATION_FAILED,
                        &e.to_string(),
                    )
                    .await;
                    return Err(e);
                }
            };
            transport
                .outgoing
                .send(Message::Authenticate {
                    signature,
                    extra: answer_extra,
                })
                .await
                .map_err(|_| closed_early())?;
            first = transport.incoming.recv().await;
        }
        let details = match first {
            Some(Ok(Message::Welcome { session, details })) => (session, details),
            Some(Ok(Message::Abort { reason, details })) => {
                let message = details.get("message").and_then(Value::as_str);
                let mut e = WampError::new(reason);
                if let Some(m) = message {
                    e.args.push(Value::Str(m.to_owned()));
                }
                return Err(Error::Aborted(Box::new(e)));
            }
            Some(Ok(Message::Challenge {
                auth_method: method,
                ..
            })) => {
                let text = format!(
                    "the router asks for {method} authentication, which this client does not do"
                );
                abort(&transport.outgoing, uris::NO_AUTH_METHOD, &text).await;
                return Err(Error::Invalid(text));
            }
            Some(Ok(other)) => {
                let text = format!("{} received instead of WELCOME", other.name());
                abort(&transport.outgoing, uris::PROTOCOL_VIOLATION, &text).await;
                return Err(Error::Protocol(text));
            }
            Some(Err(e)) => return Err(e.into()),
            None => return Err(closed_early()),
        };
        let (id, details) = details;
        if let Err(e) = handshake.check_welcome(&details) {
            tracing::warn!(realm = %self.realm, "the router failed to prove itself: {e}");
            let goodbye = Message::goodbye(uris::AUTHENTICATION_FAILED);
            let _ = transport.outgoing.send(goodbye).await;
            return Err(e);
        }
        tracing::debug!(session = id, realm = %self.realm, endpoint = %self.endpoint.describe(), "joined");
        // The router may have put the session in another realm than the one asked for
        // (a dynamic authenticator can); WELCOME says which.
        let realm = match details.get("realm").and_then(Value::as_str) {
            Some(r) => r.to_owned(),
            None => self.realm.clone(),
        };
        Ok((transport, SessionInfo { id, realm, details }))
    }

    /// HELLO.Details: the roles and the features this client implements.
    fn hello_details(&self, handshake: &Handshake, methods: Option<Vec<&'static str>>) -> Dict {
        let roles = crate::proto::roles::announce(&[
            (
                "caller",
                &[
                    "call_canceling",
                    "call_timeout",
                    "caller_identification",
                    "progressive_call_invocations",
                    "progressive_call_results",
                    "payload_passthru_mode",
                    "payload_transparency",
                ],
            ),
            (
                "callee",
                &[
                    "call_canceling",
                    "caller_identification",
                    "pattern_based_registration",
                    "progressive_call_invocations",
                    "progressive_call_results",
                    "shared_registration",
                    "registration_revocation",
                    "payload_passthru_mode",
                    "payload_transparency",
                ],
            ),
            (
                "publisher",
                &[
                    "publisher_exclusion",
                    "publisher_identification",
                    "subscriber_blackwhite_listing",
                    "payload_passthru_mode",
                    "payload_transparency",
                ],
            ),
            (
                "subscriber",
                &[
                    "pattern_based_subscription",
                    "publisher_identification",
                    "subscription_revocation",
                    "payload_passthru_mode",
                    "payload_transparency",
                ],
            ),
        ]);
        let mut details = Dict::new();
        details.insert("roles".into(), Value::Dict(roles));
        details.insert("agent".into(), Value::Str(self.agent.clone()));
        let authid = self
            .credentials
            .as_ref()
            .and_then(|c| c.authid().map(str::to_owned))
            .or_else(|| self.authid.clone());
        if let Some(authid) = authid {
            details.insert("authid".into(), Value::Str(authid));
        }
        if let Some(c) = &self.credentials {
            let methods = methods.unwrap_or_else(|| c.methods());
            let methods = methods.into_iter().map(|m| Value::Str(m.into())).collect();
            details.insert("authmethods".into(), Value::List(methods));
            if let Some(extra) = c.authextra(handshake) {
                details.insert("authextra".into(), Value::Dict(extra));
            }
        }
        details
    }
}

fn closed_early() -> Error {
    Error::Transport(TransportError::Io(
        "the router closed the connection before WELCOME".into(),
    ))
}

async fn abort(outgoing: &tokio::sync::mpsc::Sender<Message>, reason: &str, text: &str) {
    let _ = outgoing.send(Message::abort(reason, text)).await;
}
