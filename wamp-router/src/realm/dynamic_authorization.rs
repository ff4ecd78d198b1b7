//! Roles decided by a procedure (Crossbar.io's dynamic authorizers): before a session's
//! REGISTER, CALL, PUBLISH or SUBSCRIBE is handled, the router asks the role's authorizer
//! from its own trusted session, `(session details, uri, action, options)`, and handles
//! the request with the answer (a bool, or `{allow, disclose, cache}`). A cached answer is
//! not asked again; a slow or failing authorizer denies, and the log says why.

use std::sync::Arc;

use wamp_runtime::proto::{Dict, Id, Value};

use super::Realm;
use crate::authorizer::{Action, Decision};
use crate::RouterInner;

/// A question for a role's authorizer, about one request.
pub(crate) struct AuthorizerAsk {
    realm: Arc<Realm>,
    session: Id,
    role: String,
    procedure: String,
    action: Action,
    uri: String,
    /// The session's details, as the authorizer is given them.
    details: Dict,
    /// The request's options.
    options: Dict,
}

impl std::fmt::Debug for AuthorizerAsk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthorizerAsk")
            .field("procedure", &self.procedure)
            .field("action", &self.action)
            .field("uri", &self.uri)
            .finish_non_exhaustive()
    }
}

impl Realm {
    /// The question to ask before `session` may do `action` on `uri`, when its role has
    /// an authorizer and no cached decision.
    pub fn authorizer_ask(
        self: &Arc<Self>,
        session: Id,
        action: Action,
        uri: &str,
        options: &Dict,
    ) -> Option<AuthorizerAsk> {
        if !self.dynamic_roles {
            return None;
        }
        let st = self.state.lock();
        let peer = st.sessions.get(&session)?;
        if peer.trusted {
            return None;
        }
        let procedure = st.roles.authorizer(&peer.authrole)?;
        if st
            .decisions
            .get(session, &peer.authrole, action, uri)
            .is_some()
        {
            return None;
        }
        let details = st.session_info(session)?.details();
        Some(AuthorizerAsk {
            realm: self.clone(),
            session,
            role: peer.authrole.clone(),
            procedure: procedure.to_owned(),
            action,
            uri: uri.to_owned(),
            details,
            options: options.clone(),
        })
    }
}

impl AuthorizerAsk {
    /// Asks, within the authentication timeout, and keeps the answer for the request
    /// (and for the role, when it says `cache`). Anything but an answer denies.
    pub async fn decide(&self, router: &Arc<RouterInner>) {
        let (decision, cache) = match self.ask(router).await {
            Ok(answer) => answer,
            Err(why) => {
                tracing::warn!(
                    session = self.session,
                    role = self.role,
                    authorizer = self.procedure,
                    action = self.action.name(),
                    uri = self.uri,
                    "denied: the authorizer did not answer usably: {why}"
                );
                let deny = Decision {
                    allow: false,
                    disclose: None,
                };
                (deny, false)
            }
        };
        tracing::debug!(
            session = self.session,
            action = self.action.name(),
            uri = self.uri,
            allow = decision.allow,
            cache,
            "authorizer decided"
        );
        let mut st = self.realm.state.lock();
        let (s, role, action, uri) = (self.session, &self.role, self.action, &self.uri);
        st.decisions.record(s, role, action, uri, decision, cache);
    }

    /// Forgets the decision kept for the request, once it is handled.
    pub fn done(&self) {
        let mut st = self.realm.state.lock();
        st.decisions.forget(self.session, self.action, &self.uri);
    }

    async fn ask(&self, router: &Arc<RouterInner>) -> Result<(Decision, bool), String> {
        let session = crate::internal::session(router, self.realm.name()).await?;
        let args = wamp_runtime::Args {
            args: vec![
                Value::Dict(self.details.clone()),
                Value::Str(self.uri.clone()),
                Value::Str(self.action.name().into()),
                Value::Dict(self.options.clone()),
            ],
            ..Default::default()
        };
        let answer = session
            .call::<()>(self.procedure.clone(), args)
            .timeout(router.config.auth.timeout)
            .raw()
            .await
            .map_err(|e| e.to_string())?;
        let value = answer.args.into_iter().next().unwrap_or(Value::Null);
        match value {
            Value::Bool(allow) => Ok((
                Decision {
                    allow,
                    disclose: None,
                },
                false,
            )),
            Value::Dict(d) => {
                let flag = |k: &str| d.get(k).and_then(Value::as_bool);
                let allow = flag("allow").ok_or("the answer has no boolean allow")?;
                Ok((
                    Decision {
                        allow,
                        disclose: flag("disclose"),
                    },
                    flag("cache") == Some(true),
                ))
            }
            other => Err(format!("the answer {other:?} is neither a bool nor a dict")),
        }
    }
}
