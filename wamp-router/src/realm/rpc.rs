//! Routed calls in a realm: CALL and its INVOCATION, progressive calls and results,
//! CANCEL in its three modes, the dealer's timeouts, and the callee's YIELD or ERROR.
//! (REGISTER and UNREGISTER are in [`super::register`].)

use std::sync::atomic::Ordering;
use std::sync::Arc;

use wamp_runtime::proto::uri;
use wamp_runtime::proto::{
    code, error, CallOptions, CancelMode, CancelOptions, Dict, ErrorDetails, Id, Message,
    OptionError, Payload, Value, YieldOptions,
};

use super::{error_reply, Realm, State};
use crate::calls::{CallKind, Deadline, Pending};
use crate::cluster::OutgoingCall;
use crate::dealer::{NoRoute, Route};

/// Crossbar.io's error for a call that finds every callee at its `concurrency`.
pub(crate) const MAX_CONCURRENCY_REACHED: &str = "crossbar.error.max_concurrency_reached";

/// The RESULT or ERROR answering a meta procedure called with `request`.
fn meta_reply(request: Id, answer: super::meta::MetaResult) -> Message {
    match answer {
        Ok(args) => Message::Result {
            request,
            details: Dict::new(),
            payload: Payload::args(args),
        },
        Err((uri, text)) => error_reply(code::CALL, request, uri, text),
    }
}

impl State {
    /// Passes the next part of a progressive invocation to its callee (the same invocation
    /// ID and registration); the part without `progress` is the last.
    pub(super) fn continue_invocation(
        &mut self,
        invocation: Id,
        options: &CallOptions,
        payload: Payload,
    ) {
        let Some(p) = self.calls.pending_any(invocation) else {
            return;
        };
        let (callee, registration) = (p.callee, p.registration);
        let (remote, caller, request) = (p.remote, p.caller, p.caller_request);
        if !options.progress {
            self.calls.close_input(invocation);
        }
        if let (Some(node), Some(link)) = (remote, self.routing.link()) {
            link.continue_call(node, caller, request, options, &payload);
            return;
        }
        let details = Dict::new();
        self.invoke(callee, invocation, registration, details, options, payload);
    }

    /// Sends an INVOCATION (a call's first part or a later one): `details` completed with
    /// what every part says, `progress` and the payload passthru keys.
    pub(super) fn invoke(
        &self,
        callee: Id,
        invocation: Id,
        registration: Id,
        mut details: Dict,
        options: &CallOptions,
        payload: Payload,
    ) {
        if options.progress {
            details.insert("progress".into(), Value::Bool(true));
        }
        options.passthru.apply(&mut details);
        self.send(
            callee,
            Message::Invocation {
                request: invocation,
                registration,
                details,
                payload,
            },
        );
    }

    /// Sends INTERRUPT for `invocation` to `callee`, if it handles them.
    pub(super) fn interrupt(&self, callee: Id, invocation: Id, mode: CancelMode) {
        if self
            .sessions
            .get(&callee)
            .is_some_and(|p| p.features.callee_cancels)
        {
            let mut options = Dict::new();
            options.insert("mode".into(), Value::Str(mode.as_str().into()));
            self.send(
                callee,
                Message::Interrupt {
                    request: invocation,
                    options,
                },
            );
        }
    }
}

impl Realm {
    /// A CALL. `Err` is a protocol violation (a progressive CALL from a caller that did
    /// not announce progressive call invocations, an opaque payload from one that did not
    /// announce payload passthru mode).
    pub fn call(
        self: &Arc<Self>,
        session: Id,
        request: Id,
        options: &CallOptions,
        procedure: &str,
        payload: Payload,
    ) -> Result<(), String> {
        let mut st = self.state.lock();
        let progress = options.progress;
        let passthru = options.passthru.is_set();
        let Some(caller) = st.sessions.get(&session).map(|p| p.features) else {
            return Ok(());
        };
        if progress && !caller.progressive_calls.as_caller {
            return Err(
                "CALL.Options.progress without announcing progressive_call_invocations".into(),
            );
        }
        if passthru && !caller.passthru.caller {
            return Err(
                "CALL with payload passthru options without announcing payload_passthru_mode"
                    .into(),
            );
        }
        if caller.progressive_calls.as_caller {
            match st.calls.call_kind(session, request) {
                CallKind::New => {}
                CallKind::Late => {
                    tracing::debug!(session, request, "CALL for a call that ended; discarded");
                    return Ok(());
                }
                CallKind::Continuation(invocation) => {
                    st.continue_invocation(invocation, options, payload);
                    return Ok(());
                }
            }
        }
        let action = crate::authorizer::Action::Call;
        if let Err(text) = self.authorize(&st, session, action, procedure) {
            let refusal = error_reply(code::CALL, request, error::NOT_AUTHORIZED, text);
            st.send(session, refusal);
            return Ok(());
        }
        if procedure.starts_with("wamp.session.") {
            if let Some(answer) = self.testament_call(&mut st, session, procedure, &payload) {
                st.send(session, meta_reply(request, answer));
                return Ok(());
            }
        }
        if procedure.starts_with("wamp.subscription.") {
            if let Some(answer) = self.history_call(&mut st, session, procedure, &payload) {
                st.send(session, meta_reply(request, answer));
                return Ok(());
            }
        }
        if procedure.starts_with("wamp.") {
            if let Some(answer) = st.meta_call(session, procedure, &payload) {
                if let (Some(link), Some(how)) = (st.routing.link(), super::gather::how(procedure))
                {
                    let link = link.clone();
                    drop(st);
                    self.gather(link, how, session, request, procedure, &payload, answer);
                    return Ok(());
                }
                st.send(session, meta_reply(request, answer));
                return Ok(());
            }
        }
        if !passthru {
            if let Err(text) = st.validate_call(procedure, &payload) {
                self.stats.refused_payloads.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(
                    session,
                    procedure,
                    "call refused by its description: {text}"
                );
                let refusal = error_reply(code::CALL, request, error::INVALID_ARGUMENT, text);
                st.send(session, refusal);
                return Ok(());
            }
        }
        match self.route(&mut st, session, options, procedure) {
            Ok(route) => self.deliver(
                &mut st, session, request, options, procedure, route, payload,
            ),
            Err((uri, text)) => st.send(session, error_reply(code::CALL, request, uri, text)),
        }
        Ok(())
    }

    /// The callee a call of `session` to `procedure` goes to, or why none does: an
    /// invalid URI, the caller's limit of calls in flight, no registration, or a callee
    /// without a feature the call needs.
    fn route(
        &self,
        st: &mut State,
        session: Id,
        options: &CallOptions,
        procedure: &str,
    ) -> Result<Route, (&'static str, String)> {
        if !uri::is_valid_uri(procedure, self.uri_rule) {
            let text = format!("invalid procedure URI {procedure:?}");
            return Err((error::INVALID_URI, text));
        }
        if st.calls.in_flight(session) >= self.max_pending_calls {
            let text = format!(
                "too many calls in flight: this router allows {} per session",
                self.max_pending_calls
            );
            tracing::warn!(session, procedure, "call refused: {text}");
            return Err((error::TOO_MANY_CALLS, text));
        }
        let calls = &st.calls;
        let route = match st.routing.callee(procedure, &|c, r| calls.serving(c, r)) {
            Ok(route) => route,
            Err(NoRoute::NoCallee) => {
                let text = format!("no callee registered procedure {procedure:?}");
                return Err((error::NO_SUCH_PROCEDURE, text));
            }
            Err(NoRoute::AtLimit {
                shared,
                concurrency,
            }) => {
                let text = if shared {
                    format!("every callee of {procedure:?} is at its maximum concurrency ({concurrency} at most)")
                } else {
                    format!(
                        "the callee of {procedure:?} is at its maximum concurrency ({concurrency})"
                    )
                };
                tracing::debug!(session, procedure, "call refused: {text}");
                return Err((MAX_CONCURRENCY_REACHED, text));
            }
        };
        let callee = route.callee.features;
        if options.progress && !callee.progressive_calls.as_callee {
            let text = "the callee does not accept progressive call invocations";
            return Err((error::FEATURE_NOT_SUPPORTED, text.into()));
        }
        if options.passthru.is_set() && !callee.passthru.callee {
            let text = "the callee did not announce payload passthru mode";
            return Err((error::FEATURE_NOT_SUPPORTED, text.into()));
        }
        Ok(route)
    }

    /// Records the call (with its deadline, if it has a timeout) and sends its INVOCATION
    /// to the callee `route` chose.
    #[allow(clippy::too_many_arguments)]
    fn deliver(
        self: &Arc<Self>,
        st: &mut State,
        session: Id,
        request: Id,
        options: &CallOptions,
        procedure: &str,
        route: Route,
        payload: Payload,
    ) {
        let callee = route.callee.session;
        let registration = route.registration;
        let timeout = options.timeout;
        // A callee of another node: its node keeps the timeout.
        let remote = (!route.callee.node.is_local()).then_some(route.callee.node);
        let deadline = (timeout > 0 && remote.is_none()).then(|| Deadline {
            at: tokio::time::Instant::now() + std::time::Duration::from_millis(timeout),
            timeout_ms: timeout,
        });
        let invocation = st.calls.start_call(Pending {
            caller: session,
            caller_request: request,
            callee,
            receive_progress: options.receive_progress,
            deadline,
            registration,
            input_open: options.progress,
            canceled: false,
            remote,
            limited: route.callee.concurrency > 0,
        });
        if let Some(d) = deadline {
            self.arm_timer(d.at, st.calls.next_deadline() == Some(d.at));
        }
        let mut details = Dict::new();
        if timeout > 0 && route.callee.forward_timeout {
            details.insert("timeout".into(), Value::from(timeout));
        }
        if route.pattern {
            details.insert("procedure".into(), Value::Str(procedure.to_owned()));
        }
        let disclose = self.discloses(st, session, true, procedure);
        if disclose || route.callee.disclose_caller || options.disclose_me {
            st.identify(session, "caller", &mut details);
        }
        if options.receive_progress {
            details.insert("receive_progress".into(), Value::Bool(true));
        }
        if let (Some(node), Some(link), Some(caller)) =
            (remote, st.routing.link(), st.sessions.get(&session))
        {
            link.call(
                node,
                &OutgoingCall {
                    caller: session,
                    caller_request: request,
                    callee,
                    registration,
                    details: &details,
                    options,
                    authid: &caller.authid,
                    authrole: &caller.authrole,
                    caller_passthru: caller.features.passthru.caller,
                    payload: &payload,
                },
            );
            return;
        }
        st.invoke(callee, invocation, registration, details, options, payload);
    }

    /// A caller's CANCEL: `skip` answers the caller at once and leaves the callee alone,
    /// `killnowait` answers at once and interrupts the callee, `kill` (the default)
    /// interrupts the callee and answers once it has responded. A callee that does not
    /// handle INTERRUPT is skipped.
    pub fn cancel(&self, session: Id, request: Id, options: &CancelOptions) {
        let mut st = self.state.lock();
        let Some(invocation) = st.calls.invocation_of(session, request) else {
            tracing::debug!(session, request, "CANCEL for no call in flight");
            return;
        };
        let Some(p) = st.calls.pending_any(invocation) else {
            return;
        };
        let callee = p.callee;
        if let (Some(node), Some(link)) = (p.remote, st.routing.link()) {
            // The callee's node runs the cancel and answers.
            link.cancel(node, session, request, options.mode);
            return;
        }
        let cancels = st
            .sessions
            .get(&callee)
            .is_some_and(|p| p.features.callee_cancels);
        let mode = if cancels {
            options.mode
        } else {
            CancelMode::Skip
        };
        if mode == CancelMode::Kill {
            // The callee's answer to the INTERRUPT (or its result, if it finished first)
            // ends the call with wamp.error.canceled.
            if st.calls.mark_canceled(invocation) {
                st.interrupt(callee, invocation, CancelMode::Kill);
            }
            return;
        }
        if st.calls.take(invocation).is_some() {
            let text = "the caller canceled the call";
            st.send(
                session,
                error_reply(code::CALL, request, error::CANCELED, text),
            );
            if mode == CancelMode::KillNoWait {
                st.interrupt(callee, invocation, CancelMode::KillNoWait);
            }
        }
    }

    /// A callee's YIELD: the result goes to the caller. YIELD options with a bad value
    /// end the call with `wamp.error.invalid_argument` to the caller.
    pub fn yield_result(
        &self,
        session: Id,
        request: Id,
        options: Result<YieldOptions, OptionError>,
        payload: Payload,
    ) {
        let mut st = self.state.lock();
        let options = match options {
            Ok(o) => o,
            Err(e) => {
                tracing::warn!(session, request, "YIELD refused: {e}");
                if let Some(p) = st.calls.finish_call(session, request) {
                    let text = format!("the callee's answer was invalid: {e}");
                    let msg =
                        error_reply(code::CALL, p.caller_request, error::INVALID_ARGUMENT, text);
                    st.send(p.caller, msg);
                }
                return;
            }
        };
        let progress = options.progress;
        let pending = match st.calls.pending(session, request) {
            Some(p) if progress && (p.canceled || !p.receive_progress) => {
                // A canceled call takes no more results; a caller that did not ask for
                // progressive results only gets the final one.
                tracing::debug!(session, request, "progressive YIELD not passed on");
                return;
            }
            Some(p) if progress => Some(p.clone()),
            Some(_) => st.calls.finish_call(session, request),
            None => None,
        };
        let Some(p) = pending else {
            tracing::debug!(
                session,
                request,
                "YIELD for no call in flight (caller gone?)"
            );
            return;
        };
        if p.canceled {
            let text = "the caller canceled the call";
            st.send(
                p.caller,
                error_reply(code::CALL, p.caller_request, error::CANCELED, text),
            );
            return;
        }
        if options.passthru.is_set() {
            let callee_ok = st
                .sessions
                .get(&session)
                .is_some_and(|c| c.features.passthru.callee);
            let caller_ok = st
                .peer(p.caller)
                .is_some_and(|c| c.features.passthru.caller);
            if !callee_ok || !caller_ok {
                if progress {
                    st.calls.finish_call(session, request);
                }
                let text = if callee_ok {
                    "the caller did not announce payload passthru mode"
                } else {
                    "YIELD with payload passthru options without announcing payload_passthru_mode"
                };
                tracing::warn!(session, request, "YIELD refused: {text}");
                let to_callee = error_reply(
                    code::INVOCATION,
                    request,
                    error::FEATURE_NOT_SUPPORTED,
                    text,
                );
                st.send(session, to_callee);
                let to_caller = error_reply(
                    code::CALL,
                    p.caller_request,
                    error::FEATURE_NOT_SUPPORTED,
                    text,
                );
                st.send(p.caller, to_caller);
                return;
            }
        }
        let mut details = Dict::new();
        if progress {
            details.insert("progress".into(), Value::Bool(true));
        }
        options.passthru.apply(&mut details);
        let result = Message::Result {
            request: p.caller_request,
            details,
            payload,
        };
        st.send(p.caller, result);
    }

    /// A callee's ERROR for an invocation: it goes to the caller with its URI, details,
    /// args and kwargs; after a `kill` cancel, the caller gets `wamp.error.canceled`
    /// with the callee's args and kwargs.
    pub fn invocation_error(
        &self,
        session: Id,
        request: Id,
        details: Dict,
        error: String,
        payload: Payload,
    ) {
        let mut st = self.state.lock();
        let Some(p) = st.calls.finish_call(session, request) else {
            tracing::debug!(
                session,
                request,
                "ERROR for no call in flight (caller gone?)"
            );
            return;
        };
        let passthru = ErrorDetails::parse(&details).map(|d| d.passthru.is_set());
        let caller_ok = st
            .peer(p.caller)
            .is_some_and(|c| c.features.passthru.caller);
        let (error, details, payload) = match passthru {
            Err(e) => {
                let text = format!("the callee's error was invalid: {e}");
                (
                    error::INVALID_ARGUMENT.to_owned(),
                    Dict::new(),
                    Payload::args(vec![Value::Str(text)]),
                )
            }
            Ok(true) if !caller_ok => {
                let text = "the callee answered with an opaque payload and the caller did not announce payload passthru mode";
                (
                    error::FEATURE_NOT_SUPPORTED.to_owned(),
                    Dict::new(),
                    Payload::args(vec![Value::Str(text.into())]),
                )
            }
            Ok(_) if p.canceled => (error::CANCELED.to_owned(), details, payload),
            Ok(_) => (error, details, payload),
        };
        let msg = Message::Error {
            request_type: code::CALL,
            request: p.caller_request,
            details,
            error,
            payload,
        };
        st.send(p.caller, msg);
    }
}
