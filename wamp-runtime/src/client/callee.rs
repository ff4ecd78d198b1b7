//! The callee side of a session: each INVOCATION runs its handler in a task of its own,
//! progressive call invocations feed it their further arguments, and the outcome goes back
//! as YIELD or ERROR on the connection the invocation came on.

use foldhash::HashMap;
use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures_util::future::{AbortHandle, Abortable, Aborted};
use futures_util::FutureExt;

use tokio::sync::mpsc;

use super::args::Args;
use super::error::WampError;
use super::register::{CallDetails, Progress};
use super::shared::Shared;
use crate::proto::{code, error as uris, Dict, Id, Message, Value};
use crate::proto::{is_valid_uri, UriRule};

/// The invocations a session is handling.
#[derive(Default)]
pub(crate) struct Invocations {
    /// Invocations being handled, by request ID.
    pub running: HashMap<Id, AbortHandle>,
    /// Progressive call invocations still receiving arguments, by request ID.
    pub inputs: HashMap<Id, mpsc::UnboundedSender<Args>>,
    /// Progressive invocations that ended recently: later parts of them are discarded.
    pub ended_inputs: VecDeque<Id>,
}

impl Invocations {
    /// The connection was lost (or the session closed): the invocations it brought
    /// cannot be answered, so their tasks are handed back to be stopped.
    pub fn detach(&mut self) -> Vec<AbortHandle> {
        self.inputs.clear();
        self.ended_inputs.clear();
        self.running.drain().map(|(_, task)| task).collect()
    }
}

/// Runs the handler of an INVOCATION in its own task and sends its YIELD or ERROR, on the
/// connection the INVOCATION came on (an INVOCATION that cannot run is answered at once).
pub(super) fn invoke(
    shared: &Arc<Shared>,
    request: Id,
    registration: Id,
    details: Dict,
    payload: &crate::proto::Payload,
) {
    let more = details.get("progress").and_then(Value::as_bool) == Some(true);
    // The next part of a progressive call invocation in progress, or a late one.
    let (generation, found) = {
        let mut st = shared.state.lock();
        if let Some(tx) = st.invocations.inputs.get(&request) {
            match Args::received(payload, &details) {
                Ok(args) => drop(tx.send(args)),
                Err(e) => {
                    tracing::warn!(request, "a part of a progressive call cannot be read: {e}")
                }
            }
            if !more {
                st.invocations.inputs.remove(&request);
            }
            return;
        }
        if st.invocations.ended_inputs.contains(&request) {
            tracing::debug!(
                request,
                "a part of a progressive call that ended; discarded"
            );
            return;
        }
        let found = st
            .held
            .registrations
            .get(&registration)
            .map(|r| (r.handler.clone(), r.procedure.clone()));
        (st.generation, found)
    };
    let Some((handler, procedure)) = found else {
        let e = Message::error(
            code::INVOCATION,
            request,
            uris::NO_SUCH_REGISTRATION,
            format!("registration {registration} is not (or no longer) registered here"),
        );
        shared.send_soon_in(generation, e);
        return;
    };
    let requested = details.get("receive_progress").and_then(Value::as_bool) == Some(true);
    let progress = Progress::new(shared.clone(), generation, request, requested);
    let (input_tx, input_rx) = if more {
        let (tx, rx) = mpsc::unbounded_channel();
        (Some(tx), Some(rx))
    } else {
        (None, None)
    };
    let call = CallDetails::new(registration, request, procedure, details, input_rx);
    // One task an invocation: the handler, caught if it panics and stopped if the call is
    // interrupted or the connection goes, then its answer.
    let (interrupt, interrupted) = AbortHandle::new_pair();
    let handling = Abortable::new(
        AssertUnwindSafe(handler(payload, call, progress)).catch_unwind(),
        interrupted,
    );
    {
        let mut st = shared.state.lock();
        if st.closed.is_some() || st.generation != generation {
            return;
        }
        st.invocations.running.insert(request, interrupt);
        if let Some(tx) = input_tx {
            st.invocations.inputs.insert(request, tx);
        }
    }
    let shared = shared.clone();
    tokio::spawn(async move {
        let outcome = handling.await;
        {
            let mut st = shared.state.lock();
            if st.generation != generation {
                // The connection it came on is gone: nobody to answer.
                return;
            }
            st.invocations.running.remove(&request);
            if st.invocations.inputs.remove(&request).is_some() || more {
                st.invocations.ended_inputs.push_back(request);
                if st.invocations.ended_inputs.len() > 1024 {
                    st.invocations.ended_inputs.pop_front();
                }
            }
        }
        let reply = match outcome {
            Ok(Ok(Ok(result))) => {
                let mut options = Dict::new();
                result.apply(&mut options);
                Message::Yield {
                    request,
                    options,
                    payload: result.payload,
                }
            }
            Ok(Ok(Err(e))) => invocation_error(request, e),
            Err(Aborted) => Message::error(
                code::INVOCATION,
                request,
                uris::CANCELED,
                "the call was canceled",
            ),
            Ok(Err(panic)) => {
                let text = panic_text(panic);
                tracing::error!(request, "procedure handler panicked: {text}");
                Message::error(
                    code::INVOCATION,
                    request,
                    uris::RUNTIME_ERROR,
                    format!("the procedure panicked: {text}"),
                )
            }
        };
        let _ = shared.send_in(generation, reply).await;
    });
}

pub(super) fn panic_text(p: Box<dyn std::any::Any + Send>) -> String {
    match p.downcast::<String>() {
        Ok(s) => *s,
        Err(p) => p
            .downcast_ref::<&str>()
            .map_or_else(|| "(no message)".into(), |s| (*s).to_owned()),
    }
}

/// The ERROR for a handler's application error, with a valid URI whatever it returned.
pub(super) fn invocation_error(request: Id, e: WampError) -> Message {
    if !is_valid_uri(&e.uri, UriRule::Loose) {
        return Message::error(
            code::INVOCATION,
            request,
            uris::RUNTIME_ERROR,
            format!("the procedure failed with an invalid error URI {:?}", e.uri),
        );
    }
    Message::Error {
        request_type: code::INVOCATION,
        request,
        details: Dict::new(),
        error: e.uri,
        payload: Args {
            args: e.args,
            kwargs: e.kwargs,
            ..Default::default()
        }
        .into_payload(),
    }
}
