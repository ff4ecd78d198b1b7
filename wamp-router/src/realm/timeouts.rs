//! The realm's call timeouts: one timer task per realm, sleeping until the first
//! deadline the table of calls holds (not a task per timed call). A call that runs out gets
//! `wamp.error.timeout` for its caller and an INTERRUPT (`killnowait`) for its callee.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};

use tokio::sync::Notify;
use tokio::time::Instant;
use wamp_runtime::proto::{code, error, CancelMode};

use super::{error_reply, Realm};

/// The realm's side of its timer task.
#[derive(Debug, Default)]
pub(super) struct CallTimer {
    /// Wakes the task: a deadline earlier than the one it sleeps for, or the realm went.
    wake: Arc<Notify>,
    /// Whether the task was started (at the first timed call).
    started: AtomicBool,
}

impl Drop for CallTimer {
    fn drop(&mut self) {
        // The task finds the realm gone and ends.
        self.wake.notify_one();
    }
}

impl Realm {
    /// A call with deadline `at` was recorded: makes sure the timer task runs, and wakes
    /// it when `at` is now the first deadline.
    pub(super) fn arm_timer(self: &Arc<Self>, at: Instant, first: bool) {
        if !self.timer.started.swap(true, Ordering::AcqRel) {
            let realm = Arc::downgrade(self);
            let wake = self.timer.wake.clone();
            tokio::spawn(run(realm, wake, at));
        } else if first {
            self.timer.wake.notify_one();
        }
    }

    /// Ends the calls whose deadline has passed; the next deadline, if any.
    fn expire_due(&self) -> Option<Instant> {
        let mut st = self.state.lock();
        for (invocation, p) in st.calls.take_expired(Instant::now()) {
            let timeout = p.deadline.map_or(0, |d| d.timeout_ms);
            let text = format!("the call timed out after {timeout} ms");
            st.send(
                p.caller,
                error_reply(code::CALL, p.caller_request, error::TIMEOUT, text),
            );
            st.interrupt(p.callee, invocation, CancelMode::KillNoWait);
        }
        st.calls.next_deadline()
    }
}

/// The timer task: sleeps until the first deadline (or a wake-up), expires what is due,
/// and ends when the realm is gone.
async fn run(realm: Weak<Realm>, wake: Arc<Notify>, first: Instant) {
    let mut next = Some(first);
    loop {
        match next {
            Some(at) => {
                tokio::select! {
                    () = tokio::time::sleep_until(at) => {}
                    () = wake.notified() => {}
                }
            }
            None => wake.notified().await,
        }
        let Some(realm) = realm.upgrade() else {
            return;
        };
        next = realm.expire_due();
    }
}
