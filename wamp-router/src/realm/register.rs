//! REGISTER and UNREGISTER in a realm: shared registrations and their invocation
//! policies, `force_reregister`, the limits, and, on a node of a cluster, the record the
//! cluster keeps of each registration (the request then waits for it: [`Waiting`]).

use std::sync::Arc;

use wamp_runtime::proto::uri::{self, MatchPolicy};
use wamp_runtime::proto::{code, error, Id, Message, RegisterOptions};

use super::meta::Revoked;
use super::{error_reply, Realm, State, Waiting};
use crate::cluster::NodeRef;
use crate::dealer::{Callee, Invoke, RegisterError};

/// The ERROR a refused REGISTER gets: its URI and text.
pub(super) fn register_refusal(
    procedure: &str,
    invoke: Invoke,
    e: RegisterError,
) -> (&'static str, String) {
    match e {
        RegisterError::AlreadyExists => (
            error::PROCEDURE_ALREADY_EXISTS,
            format!("procedure {procedure:?} is already registered"),
        ),
        RegisterError::DifferentPolicy(existing) => (
            error::PROCEDURE_EXISTS_WITH_DIFFERENT_INVOCATION_POLICY,
            format!(
                "procedure {procedure:?} is registered with invocation policy {:?}, not {:?}",
                existing.as_str(),
                invoke.as_str()
            ),
        ),
    }
}

impl State {
    /// Takes `procedure` away from the callees that hold it (a REGISTER with
    /// `force_reregister`, as in Crossbar.io): each is told, if it announced
    /// registration revocation, and the meta events say they left and the registration
    /// went.
    pub(super) fn force_reregister(&mut self, procedure: &str, policy: MatchPolicy) {
        let Some((id, callees)) = self.routing.take_over(procedure, policy) else {
            return;
        };
        let last = callees.len().saturating_sub(1);
        for (i, callee) in callees.into_iter().enumerate() {
            self.revoke(callee, Revoked::Registration, id, "wamp.error.unregistered");
            self.registration_left(callee, id);
            self.callee_left_events(callee, id, i == last);
        }
        tracing::info!(
            procedure,
            registration = id,
            "registration taken over (force_reregister)"
        );
    }
}

impl Realm {
    /// Why a REGISTER of `procedure` under `policy` cannot be accepted, if it cannot.
    pub(super) fn check_procedure(
        &self,
        procedure: &str,
        policy: MatchPolicy,
    ) -> Result<(), String> {
        if !uri::is_valid_pattern(procedure, self.uri_rule, policy) {
            return Err(format!(
                "invalid procedure URI {procedure:?} for {} matching",
                policy.as_str()
            ));
        }
        if procedure.starts_with("wamp.") {
            return Err(format!(
                "procedure {procedure:?} is reserved for the router"
            ));
        }
        Ok(())
    }

    /// A REGISTER: answered now, or (on a node of a cluster) handed back to finish once
    /// the cluster's record holds it.
    pub fn register(
        self: &Arc<Self>,
        session: Id,
        request: Id,
        options: &RegisterOptions,
        procedure: &str,
    ) -> Option<Waiting> {
        let policy = options.policy;
        let mut st = self.state.lock();
        let refuse = |st: &State, uri: &str, text: String| {
            st.send(session, error_reply(code::REGISTER, request, uri, text));
        };
        if let Err(text) = self.check_procedure(procedure, policy) {
            refuse(&st, error::INVALID_URI, text);
            return None;
        }
        let action = crate::authorizer::Action::Register;
        if let Err(text) = self.authorize(&st, session, action, procedure) {
            refuse(&st, error::NOT_AUTHORIZED, text);
            return None;
        }
        if let Some(max) = self.max_registrations {
            if st.routing.registrations().registrations_of(session) >= max {
                let text = format!("too many registrations: this router allows {max} per session");
                tracing::warn!(session, procedure, "registration refused: {text}");
                refuse(&st, error::NOT_AUTHORIZED, text);
                return None;
            }
        }
        let features = st.sessions.get(&session).map(|p| p.features)?;
        let callee = Callee {
            session,
            disclose_caller: options.disclose_caller,
            forward_timeout: options.forward_timeout,
            features,
            node: NodeRef::LOCAL,
            joined: 0,
            concurrency: options
                .concurrency
                .map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX)),
        };
        let force = options.force_reregister;
        let claim =
            st.routing
                .registration_claim(procedure, policy, options.invoke, &callee, force);
        if let Some(claim) = claim {
            return Some(Waiting::register(self.clone(), request, claim));
        }
        if options.force_reregister {
            st.force_reregister(procedure, policy);
        }
        match st
            .routing
            .register(procedure, policy, options.invoke, callee)
        {
            Ok(change) => {
                let registration = change.id;
                st.registration_events(session, change, true);
                st.send(
                    session,
                    Message::Registered {
                        request,
                        registration,
                    },
                );
            }
            Err(e) => {
                let (uri, text) = register_refusal(procedure, options.invoke, e);
                refuse(&st, uri, text);
            }
        }
        None
    }

    /// An UNREGISTER: answered now, or (on a node of a cluster) once the cluster's
    /// record no longer holds the callee.
    pub fn unregister(
        self: &Arc<Self>,
        session: Id,
        request: Id,
        registration: Id,
    ) -> Option<Waiting> {
        let mut st = self.state.lock();
        let registrations = st.routing.registrations();
        let pattern = registrations
            .get(registration)
            .map(|r| (r.procedure.clone(), r.policy));
        let reply = if let Some(change) = st.routing.unregister(session, registration) {
            st.registration_events(session, change, false);
            if let (Some(link), Some((procedure, policy))) = (st.routing.link(), pattern) {
                let link = link.clone();
                let leave = (link, procedure, policy);
                return Some(Waiting::unregister(self.clone(), session, request, leave));
            }
            Message::Unregistered {
                request,
                details: None,
            }
        } else {
            let text = "no such registration of this session";
            error_reply(code::UNREGISTER, request, error::NO_SUCH_REGISTRATION, text)
        };
        st.send(session, reply);
        None
    }
}
