//! One connection's WAMP session state machine: HELLO, WELCOME, the established session's
//! requests, and GOODBYE or ABORT. It does not know the transport: a listener feeds it
//! decoded messages and sends what it queues.

use std::sync::Arc;

use wamp_runtime::proto::roles;
use wamp_runtime::proto::{
    close, code, error, uri, CallOptions, CancelOptions, Dict, Id, Message, OptionError,
    PublishOptions, RegisterOptions, SubscribeOptions, Value, YieldOptions,
};
use wamp_runtime::Serializer;

use crate::auth::{Decision, Identity, PendingAuth};
use crate::listener::settings::ConnectionInfo;
use crate::outbox::Outbox;
use crate::realm::{Features, PassthruRoles, Peer, ProgressiveCalls, Realm};
use crate::RouterInner;

/// What the transport loop does after a message.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Flow {
    Continue,
    Close,
}

/// What [`Session::handle`] did with a message.
#[derive(Debug)]
// Returned and matched at once: boxing the message would cost an allocation per message.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Handled {
    /// Handled; what the transport loop does next.
    Done(Flow),
    /// A handshake message, for [`Session::handshake`].
    Handshake(Message),
    /// A request that waits for the other nodes of a cluster: the transport loop awaits
    /// it before it reads on, so the session's requests keep their order.
    Wait(Box<crate::realm::Waiting>),
    /// A request whose role's authorizer must decide first: the transport loop asks,
    /// then hands the request back to [`Session::handle`], which finds the decision.
    Authorize(Box<crate::realm::AuthorizerAsk>, Message),
}

/// Where a session is in its opening handshake (each has its own deadline).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Waiting for HELLO.
    Hello,
    /// Waiting for AUTHENTICATE.
    Authenticating,
    /// Joined, or closing.
    Joined,
}

enum State {
    /// Waiting for HELLO.
    Handshake,
    /// A CHALLENGE was sent; waiting for AUTHENTICATE.
    Authenticating {
        hello: Dict,
        pending: Box<PendingAuth>,
    },
    /// Joined a realm.
    Established { realm: Arc<Realm>, id: Id },
    /// The router sent GOODBYE and waits for the reply.
    ShuttingDown { realm: Arc<Realm>, id: Id },
    /// Nothing more is accepted.
    Closed,
}

/// The router side of one session.
pub(crate) struct Session {
    router: Arc<RouterInner>,
    /// `None` for an in-process session.
    serializer: Option<Serializer>,
    outbox: Outbox,
    conn: ConnectionInfo,
    state: State,
    /// The session ID this session will have, chosen at HELLO (a WAMP-CRA challenge and
    /// a dynamic authenticator are told it).
    next_id: Id,
}

const ROLES: [&str; 4] = ["publisher", "subscriber", "caller", "callee"];

impl Session {
    pub fn new(
        router: Arc<RouterInner>,
        serializer: Option<Serializer>,
        outbox: Outbox,
        conn: ConnectionInfo,
    ) -> Self {
        Self {
            router,
            serializer,
            outbox,
            conn,
            state: State::Handshake,
            next_id: 0,
        }
    }

    /// The serializer's subprotocol, or "in-process", for logs.
    fn transport(&self) -> &'static str {
        self.serializer.map_or("in-process", |s| s.subprotocol())
    }

    /// Whether the transport waits for a HELLO (a new connection, or one whose session
    /// ended with GOODBYE: the spec lets a transport carry a new session after that) or an
    /// AUTHENTICATE.
    pub fn phase(&self) -> Phase {
        match self.state {
            State::Handshake => Phase::Hello,
            State::Authenticating { .. } => Phase::Authenticating,
            _ => Phase::Joined,
        }
    }

    /// Queues a message that is not a realm's decision (WELCOME, ABORT, GOODBYE).
    fn send(&self, msg: Message) {
        let id = match &self.state {
            State::Established { id, .. } | State::ShuttingDown { id, .. } => *id,
            State::Handshake | State::Authenticating { .. } | State::Closed => 0,
        };
        self.outbox.push(id, msg);
    }

    /// Ends the session with ABORT.
    pub fn abort(&mut self, reason: &str, message: impl Into<String>) -> Flow {
        let message = message.into();
        tracing::info!(
            listener = %self.conn.listener.label,
            peer = %self.conn.peer,
            transport = self.transport(),
            reason,
            "aborting session: {message}"
        );
        self.send(Message::abort(reason, message));
        self.leave();
        Flow::Close
    }

    /// Ends the session for a protocol violation.
    pub fn violation(&mut self, message: impl Into<String>) -> Flow {
        self.abort(error::PROTOCOL_VIOLATION, message)
    }

    /// The router is shutting down: say GOODBYE and wait for the peer's reply.
    pub fn begin_shutdown(&mut self) -> Flow {
        match std::mem::replace(&mut self.state, State::Closed) {
            State::Established { realm, id } => {
                self.send(Message::goodbye(close::SYSTEM_SHUTDOWN));
                self.state = State::ShuttingDown { realm, id };
                Flow::Continue
            }
            other => {
                self.state = other;
                self.leave();
                Flow::Close
            }
        }
    }

    /// Removes the session from its realm (idempotent).
    pub fn leave(&mut self) {
        match std::mem::replace(&mut self.state, State::Closed) {
            State::Established { realm, id } | State::ShuttingDown { realm, id } => {
                realm.leave(id);
                tracing::info!(session = id, realm = realm.name(), "session left");
            }
            State::Handshake | State::Authenticating { .. } | State::Closed => {}
        }
    }

    /// Handles one message from the peer on an established session, or in any state where
    /// nothing needs to wait: the per-message path, and synchronous. A handshake message
    /// (HELLO, AUTHENTICATE) is handed back for [`Session::handshake`].
    pub fn handle(&mut self, msg: Message) -> Handled {
        Handled::Done(match &self.state {
            State::Handshake | State::Authenticating { .. } => return Handled::Handshake(msg),
            State::Established { realm, id } => {
                let (realm, id) = (realm.clone(), *id);
                if let Some(ask) = authorizer_ask(&realm, id, &msg) {
                    return Handled::Authorize(Box::new(ask), msg);
                }
                let waiting = match msg {
                    Message::Subscribe {
                        request,
                        options,
                        topic,
                    } => match SubscribeOptions::parse(&options) {
                        Ok(o) => realm.subscribe(id, request, &o, &topic),
                        Err(e) => {
                            self.refuse(code::SUBSCRIBE, request, e);
                            None
                        }
                    },
                    Message::Register {
                        request,
                        options,
                        procedure,
                    } => match RegisterOptions::parse(&options) {
                        Ok(o) => realm.register(id, request, &o, &procedure),
                        Err(e) => {
                            self.refuse(code::REGISTER, request, e);
                            None
                        }
                    },
                    Message::Unregister {
                        request,
                        registration,
                    } => realm.unregister(id, request, registration),
                    other => return Handled::Done(self.established(&realm, id, other)),
                };
                return match waiting {
                    Some(w) => Handled::Wait(Box::new(w)),
                    None => Handled::Done(Flow::Continue),
                };
            }
            State::ShuttingDown { .. } => match msg {
                Message::Goodbye { .. } | Message::Abort { .. } => {
                    self.leave();
                    Flow::Close
                }
                _ => Flow::Continue,
            },
            State::Closed => Flow::Close,
        })
    }

    /// Handles a message of the handshake, which may wait (on an authenticator, say). The
    /// caller boxes this future: it runs a few times a session, and a session's long-lived
    /// future should not carry its state.
    pub async fn handshake(&mut self, msg: Message) -> Flow {
        match &self.state {
            State::Handshake => match msg {
                Message::Hello { realm, details } => self.hello(realm, details).await,
                other => self.violation(format!("{} received before HELLO", other.name())),
            },
            State::Authenticating { .. } => match msg {
                Message::Authenticate { signature, extra } => {
                    let State::Authenticating { hello, pending } =
                        std::mem::replace(&mut self.state, State::Handshake)
                    else {
                        return Flow::Close;
                    };
                    match crate::auth::verify(&self.router, pending, &signature, &extra).await {
                        Ok(identity) => self.welcome(&hello, identity).await,
                        Err((reason, text)) => self.abort(reason, text),
                    }
                }
                Message::Abort { .. } => {
                    self.state = State::Closed;
                    Flow::Close
                }
                other => {
                    self.violation(format!("{} received instead of AUTHENTICATE", other.name()))
                }
            },
            _ => match self.handle(msg) {
                Handled::Done(flow) => flow,
                Handled::Handshake(_) => Flow::Close,
                Handled::Wait(pending) => {
                    pending.finish().await;
                    Flow::Continue
                }
                Handled::Authorize(ask, msg) => self.authorized(*ask, msg).await,
            },
        }
    }

    /// Asks the role's authorizer about `msg`, then handles it with the decision.
    pub async fn authorized(&mut self, ask: crate::realm::AuthorizerAsk, msg: Message) -> Flow {
        ask.decide(&self.router).await;
        let flow = match self.handle(msg) {
            Handled::Done(flow) => flow,
            Handled::Wait(pending) => {
                pending.finish().await;
                Flow::Continue
            }
            // The decision is kept until `done`: the request is not asked about twice.
            Handled::Authorize(..) | Handled::Handshake(_) => Flow::Continue,
        };
        ask.done();
        flow
    }

    async fn hello(&mut self, realm_name: String, details: Dict) -> Flow {
        self.next_id = self.router.session_id();
        let announced = roles::Announced::of(&details);
        if !ROLES.iter().any(|r| announced.has_role(r)) {
            return self
                .violation("HELLO.Details.roles must announce at least one of publisher, subscriber, caller, callee");
        }
        if !uri::is_valid_uri(&realm_name, uri::UriRule::Loose) {
            return self.abort(
                error::INVALID_URI,
                format!("invalid realm URI {realm_name:?}"),
            );
        }
        if !self.router.realms.contains_key(&realm_name) {
            return self.abort(
                error::NO_SUCH_REALM,
                format!("no realm {realm_name:?} on this router"),
            );
        }
        if self.conn.listener.trusted {
            let identity = Identity {
                realm: realm_name,
                authid: "router".into(),
                authrole: "trusted".into(),
                authmethod: "trusted",
                authprovider: "router",
                authextra: Dict::new(),
            };
            return self.welcome(&details, identity).await;
        }
        let decision = crate::auth::decide(
            &self.router,
            &self.conn,
            &realm_name,
            &details,
            self.next_id,
        );
        match decision.await {
            Decision::Welcome(identity) => self.welcome(&details, identity).await,
            Decision::Refuse((reason, text)) => self.abort(reason, text),
            Decision::Challenge {
                method,
                extra,
                pending,
            } => {
                self.send(Message::Challenge {
                    auth_method: method.into(),
                    extra,
                });
                self.state = State::Authenticating {
                    hello: details,
                    pending,
                };
                Flow::Continue
            }
        }
    }

    /// Joins the realm of `identity` and sends WELCOME.
    async fn welcome(&mut self, details: &Dict, identity: Identity) -> Flow {
        let Identity {
            realm: realm_name,
            authid,
            authrole,
            authmethod,
            authprovider,
            authextra,
        } = identity;
        let Some(realm) = self.router.realms.get(&realm_name).cloned() else {
            return self.abort(
                error::NO_SUCH_REALM,
                format!("no realm {realm_name:?} on this router"),
            );
        };
        let announced = roles::Announced::of(details);
        let callee_cancels = announced.cancels("callee");
        let passthru = |role| {
            announced.has(role, "payload_passthru_mode")
                || announced.has(role, "payload_transparency")
        };
        let features = Features {
            callee_cancels,
            progressive_calls: ProgressiveCalls {
                as_caller: announced.has("caller", "progressive_call_invocations"),
                as_callee: announced.has("callee", "progressive_call_invocations")
                    && callee_cancels,
            },
            registration_revocation: announced.has("callee", "registration_revocation"),
            subscription_revocation: announced.has("subscriber", "subscription_revocation")
                && !autobahn_python(&announced),
            passthru: PassthruRoles {
                caller: passthru("caller"),
                callee: passthru("callee"),
                subscriber: passthru("subscriber"),
            },
        };
        let id = realm.join(
            self.next_id,
            Peer {
                outbox: self.outbox.clone(),
                authmethod: authmethod.into(),
                features,
                serializer: self.serializer,
                authid: authid.clone(),
                authrole: authrole.clone(),
                trusted: self.conn.listener.trusted,
                peer: self.conn.peer.clone(),
                authprovider,
            },
        );
        crate::listener::connection::record_session(id, &realm_name, &authid, &authrole);
        tracing::info!(
            authmethod,
            listener = %self.conn.listener.label,
            transport = self.transport(),
            "session joined"
        );
        let mut welcome = Dict::new();
        welcome.insert("realm".into(), Value::Str(realm_name));
        welcome.insert("authid".into(), Value::Str(authid));
        welcome.insert("authrole".into(), Value::Str(authrole));
        welcome.insert("authmethod".into(), Value::Str(authmethod.into()));
        welcome.insert("authprovider".into(), Value::Str(authprovider.into()));
        if !authextra.is_empty() {
            welcome.insert("authextra".into(), Value::Dict(authextra));
        }
        welcome.insert("roles".into(), Value::Dict(router_roles()));
        welcome.insert(
            "agent".into(),
            Value::Str(concat!("wamp-router-rs/", env!("CARGO_PKG_VERSION")).into()),
        );
        self.state = State::Established { realm, id };
        self.send(Message::Welcome {
            session: id,
            details: welcome,
        });
        Flow::Continue
    }

    /// Answers a request whose options have a bad value, with ERROR
    /// `wamp.error.invalid_argument` naming the option: the session goes on.
    fn refuse(&self, request_type: u64, request: Id, e: OptionError) {
        tracing::debug!(request, "request refused: {e}");
        self.send(Message::error(
            request_type,
            request,
            error::INVALID_ARGUMENT,
            e.to_string(),
        ));
    }

    fn established(&mut self, realm: &Arc<Realm>, id: Id, msg: Message) -> Flow {
        match msg {
            Message::Unsubscribe {
                request,
                subscription,
            } => realm.unsubscribe(id, request, subscription),
            Message::Publish {
                request,
                options,
                topic,
                payload,
            } => match PublishOptions::parse(&options) {
                Ok(o) => realm.publish(id, request, o, &topic, payload),
                Err(e) if PublishOptions::acknowledged(&options) => {
                    self.refuse(code::PUBLISH, request, e)
                }
                Err(e) => tracing::debug!(session = id, topic, "publication refused: {e}"),
            },
            Message::Call {
                request,
                options,
                procedure,
                payload,
            } => match CallOptions::parse(&options) {
                Ok(o) => {
                    if let Err(violation) = realm.call(id, request, &o, &procedure, payload) {
                        return self.violation(violation);
                    }
                }
                Err(e) => self.refuse(code::CALL, request, e),
            },
            Message::Yield {
                request,
                options,
                payload,
            } => realm.yield_result(id, request, YieldOptions::parse(&options), payload),
            Message::Error {
                request_type: code::INVOCATION,
                request,
                details,
                error,
                payload,
            } => realm.invocation_error(id, request, details, error, payload),
            Message::Error { request_type, .. } => {
                let what = wamp_runtime::proto::message::name_of(request_type);
                let text = format!("ERROR for a {what} is not something a client sends");
                return self.violation(text);
            }
            Message::Cancel { request, options } => match CancelOptions::parse(&options) {
                Ok(o) => realm.cancel(id, request, &o),
                Err(e) => self.refuse(code::CANCEL, request, e),
            },
            Message::EventReceived { publication } => {
                tracing::debug!(
                    session = id,
                    publication,
                    "EVENT_RECEIVED ignored: acknowledged delivery is not enabled"
                );
            }
            Message::Goodbye { .. } => {
                self.send(Message::goodbye(close::GOODBYE_AND_OUT));
                self.leave();
                // The session is closed; the transport stays open for a new HELLO.
                self.state = State::Handshake;
            }
            Message::Abort { reason, .. } => {
                tracing::info!(session = id, reason, "peer aborted the session");
                self.leave();
                return Flow::Close;
            }
            Message::Hello { .. } => {
                return self.violation("HELLO received on an established session");
            }
            other => {
                let text = format!(
                    "{} is not a message a client sends to a router",
                    other.name()
                );
                return self.violation(text);
            }
        }
        Flow::Continue
    }
}

/// Whether the peer is Autobahn|Python, which announces `subscription_revocation` but
/// fails its connection on the revocation message (26.10 and earlier): it alone announces
/// `payload_encryption_cryptobox`. Such a subscriber gets the spec's fallback (nothing is
/// sent; the meta events say it), as a peer that did not announce the feature.
fn autobahn_python(announced: &roles::Announced<'_>) -> bool {
    announced.has("subscriber", "payload_encryption_cryptobox")
}

/// What the role's authorizer must decide before `msg` is handled, if anything.
fn authorizer_ask(
    realm: &Arc<Realm>,
    session: Id,
    msg: &Message,
) -> Option<crate::realm::AuthorizerAsk> {
    use crate::authorizer::Action;
    let (action, uri, options) = match msg {
        Message::Register {
            options, procedure, ..
        } => (Action::Register, procedure, options),
        Message::Call {
            options, procedure, ..
        } => (Action::Call, procedure, options),
        Message::Publish { options, topic, .. } => (Action::Publish, topic, options),
        Message::Subscribe { options, topic, .. } => (Action::Subscribe, topic, options),
        _ => return None,
    };
    realm.authorizer_ask(session, action, uri, options)
}

/// The roles and features this router announces in WELCOME: only what it really does.
fn router_roles() -> Dict {
    roles::announce(&[
        (
            "broker",
            &[
                "event_retention",
                "event_history",
                "publisher_exclusion",
                "session_meta_api",
                "subscription_meta_api",
                "publisher_identification",
                "subscriber_blackwhite_listing",
                "pattern_based_subscription",
                "subscription_revocation",
                "payload_passthru_mode",
                "payload_transparency",
                "reflection",
            ],
        ),
        (
            "dealer",
            &[
                "call_canceling",
                "call_timeout",
                "caller_identification",
                "pattern_based_registration",
                "progressive_call_invocations",
                "progressive_call_results",
                "registration_meta_api",
                "session_meta_api",
                "shared_registration",
                "registration_revocation",
                "testament_meta_api",
                "payload_passthru_mode",
                "payload_transparency",
                "reflection",
            ],
        ),
    ])
}
