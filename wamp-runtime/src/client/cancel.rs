//! Canceling a call on purpose, in the mode the caller chooses: the [`CancelHandle`] a
//! [`Call`](super::Call) hands out before it is awaited. (Dropping a call's future
//! cancels it too, always in `killnowait` mode.)

use std::sync::Arc;

use parking_lot::Mutex;

use super::error::Error;
use super::shared::Shared;
use crate::proto::{CancelMode, Dict, Id, Message, Value};

/// Cancels one call at the router, in a chosen mode: `skip` (the caller gets
/// `wamp.error.canceled` at once, the callee is not told), `kill` (the callee is
/// interrupted and the caller gets the error once the callee stopped) or `killnowait`
/// (both at once). The call's future then ends with [`Error::Application`] carrying
/// `wamp.error.canceled`.
///
/// ```no_run
/// # async fn demo(session: wamp_runtime::Session) -> Result<(), wamp_runtime::Error> {
/// use std::future::IntoFuture;
/// use wamp_runtime::CancelMode;
///
/// let call = session.call::<u64>("com.example.slow", ());
/// let handle = call.cancel_handle();
/// let waiting = tokio::spawn(call.into_future());
/// handle.cancel(CancelMode::Kill)?;
/// let e = waiting.await.expect("the task runs").unwrap_err();
/// assert_eq!(e.uri(), Some("wamp.error.canceled"));
/// # Ok(()) }
/// ```
///
/// Canceling before the call went out cancels it as soon as it does; canceling a call
/// that ended does nothing.
#[derive(Clone)]
pub struct CancelHandle {
    slot: Arc<Mutex<Slot>>,
}

impl std::fmt::Debug for CancelHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let slot = self.slot.lock();
        f.debug_struct("CancelHandle")
            .field("request", &slot.sent.as_ref().map(|s| s.request))
            .field("asked", &slot.asked)
            .finish()
    }
}

/// Where a call is, as its cancel handle needs to know.
#[derive(Default)]
struct Slot {
    sent: Option<Sent>,
    /// The mode asked before the call went out.
    asked: Option<CancelMode>,
}

/// The connection and request ID a call went out with.
struct Sent {
    shared: Arc<Shared>,
    generation: u64,
    request: Id,
}

impl CancelHandle {
    pub(crate) fn new() -> Self {
        Self {
            slot: Arc::new(Mutex::new(Slot::default())),
        }
    }

    /// Asks the router to cancel the call in `mode`. Fails when the router does not
    /// support call canceling (the call goes on).
    pub fn cancel(&self, mode: CancelMode) -> Result<(), Error> {
        let mut slot = self.slot.lock();
        match &slot.sent {
            Some(sent) => send_cancel(sent, mode),
            None => {
                slot.asked = Some(mode);
                Ok(())
            }
        }
    }

    /// The call went out as `request` on connection `generation`: a cancel asked before
    /// goes out now.
    pub(crate) fn sent(&self, shared: &Arc<Shared>, generation: u64, request: Id) {
        let mut slot = self.slot.lock();
        let sent = Sent {
            shared: shared.clone(),
            generation,
            request,
        };
        if let Some(mode) = slot.asked.take() {
            if let Err(e) = send_cancel(&sent, mode) {
                tracing::warn!(request, "the call cannot be canceled: {e}");
            }
        }
        slot.sent = Some(sent);
    }
}

/// Sends the CANCEL of `sent` in `mode`, if the router takes cancels.
fn send_cancel(sent: &Sent, mode: CancelMode) -> Result<(), Error> {
    let cancel = cancel_message(&sent.shared, sent.request, mode)
        .ok_or_else(|| Error::Invalid("the router does not support call canceling".into()))?;
    sent.shared.send_soon_in(sent.generation, cancel);
    Ok(())
}

/// The CANCEL of call `request` in `mode`, if the router takes cancels.
pub(super) fn cancel_message(shared: &Shared, request: Id, mode: CancelMode) -> Option<Message> {
    if !shared.router_has("dealer", "call_canceling") {
        return None;
    }
    let mut options = Dict::new();
    options.insert("mode".into(), Value::Str(mode.as_str().into()));
    Some(Message::Cancel { request, options })
}
