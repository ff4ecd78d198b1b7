//! The typed view of each request's options.

use super::{CancelMode, InvokePolicy, OptionError, Passthru, Reader};
use crate::proto::id::Id;
use crate::proto::uri::MatchPolicy;
use crate::proto::value::{Dict, Value};

/// `SUBSCRIBE.Options`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SubscribeOptions {
    /// How the topic matches publications.
    pub policy: MatchPolicy,
    /// Whether the subscriber asks for the retained events (`get_retained`).
    pub get_retained: bool,
}

impl SubscribeOptions {
    /// Reads the known keys of `options`.
    pub fn parse(options: &Dict) -> Result<Self, OptionError> {
        let r = Reader {
            message: "SUBSCRIBE.Options",
            dict: options,
        };
        Ok(Self {
            policy: r.policy()?,
            get_retained: r.flag("get_retained")?.unwrap_or(false),
        })
    }
}

/// `PUBLISH.Options`.
#[derive(Debug, Clone, PartialEq)]
pub struct PublishOptions {
    /// Whether the publisher wants PUBLISHED (and errors).
    pub acknowledge: bool,
    /// Whether the publisher, if subscribed, does not receive its own event (default).
    pub exclude_me: bool,
    /// Subscribers that must not receive the event, by session, authid and authrole.
    pub exclude: Option<Vec<Id>>,
    #[allow(missing_docs)]
    pub exclude_authid: Option<Vec<String>>,
    #[allow(missing_docs)]
    pub exclude_authrole: Option<Vec<String>>,
    /// When given, only these subscribers may receive the event.
    pub eligible: Option<Vec<Id>>,
    #[allow(missing_docs)]
    pub eligible_authid: Option<Vec<String>>,
    #[allow(missing_docs)]
    pub eligible_authrole: Option<Vec<String>>,
    /// Whether the broker keeps the event for later subscribers.
    pub retain: bool,
    /// Whether the publisher asks to be disclosed.
    pub disclose_me: bool,
    /// Payload passthru mode.
    pub passthru: Passthru,
}

impl Default for PublishOptions {
    fn default() -> Self {
        Self {
            acknowledge: false,
            exclude_me: true,
            exclude: None,
            exclude_authid: None,
            exclude_authrole: None,
            eligible: None,
            eligible_authid: None,
            eligible_authrole: None,
            retain: false,
            disclose_me: false,
            passthru: Passthru::default(),
        }
    }
}

impl PublishOptions {
    /// Reads the known keys of `options`.
    pub fn parse(options: &Dict) -> Result<Self, OptionError> {
        let r = Reader {
            message: "PUBLISH.Options",
            dict: options,
        };
        Ok(Self {
            acknowledge: r.flag("acknowledge")?.unwrap_or(false),
            exclude_me: r.flag("exclude_me")?.unwrap_or(true),
            exclude: r.ids("exclude")?,
            exclude_authid: r.strings("exclude_authid")?,
            exclude_authrole: r.strings("exclude_authrole")?,
            eligible: r.ids("eligible")?,
            eligible_authid: r.strings("eligible_authid")?,
            eligible_authrole: r.strings("eligible_authrole")?,
            retain: r.flag("retain")?.unwrap_or(false),
            disclose_me: r.flag("disclose_me")?.unwrap_or(false),
            passthru: r.passthru()?,
        })
    }

    /// Whether the publisher asked for PUBLISHED, read on its own: a PUBLISH whose other
    /// options are bad is answered with ERROR only when this is set.
    pub fn acknowledged(options: &Dict) -> bool {
        options.get("acknowledge").and_then(Value::as_bool) == Some(true)
    }

    /// Whether the black- and white-lists let a subscriber receive the event.
    pub fn admits(&self, session: Id, authid: &str, authrole: &str) -> bool {
        let has =
            |l: &Option<Vec<String>>, s: &str| l.as_ref().is_some_and(|l| l.iter().any(|x| x == s));
        let has_id = |l: &Option<Vec<Id>>| l.as_ref().is_some_and(|l| l.contains(&session));
        !has_id(&self.exclude)
            && !has(&self.exclude_authid, authid)
            && !has(&self.exclude_authrole, authrole)
            && (self.eligible.is_none() || has_id(&self.eligible))
            && (self.eligible_authid.is_none() || has(&self.eligible_authid, authid))
            && (self.eligible_authrole.is_none() || has(&self.eligible_authrole, authrole))
    }

    /// Whether the publication names its receivers (`exclude…` or `eligible…`).
    pub fn is_filtered(&self) -> bool {
        self.exclude.is_some()
            || self.exclude_authid.is_some()
            || self.exclude_authrole.is_some()
            || self.eligible.is_some()
            || self.eligible_authid.is_some()
            || self.eligible_authrole.is_some()
    }
}

/// `REGISTER.Options`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RegisterOptions {
    /// How the procedure URI matches calls.
    pub policy: MatchPolicy,
    /// How a shared registration picks its callee.
    pub invoke: InvokePolicy,
    /// Whether invocations disclose the caller.
    pub disclose_caller: bool,
    /// Whether to take the procedure from the sessions holding it (Crossbar.io's
    /// `force_reregister`).
    pub force_reregister: bool,
    /// Whether the caller's `timeout` is passed on in INVOCATION (`forward_timeout`).
    pub forward_timeout: bool,
    /// How many invocations may run at once (Crossbar.io's `concurrency`).
    pub concurrency: Option<u64>,
}

impl RegisterOptions {
    /// Reads the known keys of `options`.
    pub fn parse(options: &Dict) -> Result<Self, OptionError> {
        let r = Reader {
            message: "REGISTER.Options",
            dict: options,
        };
        let invoke = match r.str("invoke")? {
            None => InvokePolicy::Single,
            Some(i) => InvokePolicy::parse(i).ok_or_else(|| OptionError {
                message: "REGISTER.Options",
                key: "invoke",
                problem: format!(
                    "unknown invocation policy {i:?} (use single, roundrobin, random, first or last)"
                ),
            })?,
        };
        let concurrency = r.int("concurrency")?;
        if concurrency == Some(0) {
            return Err(OptionError {
                message: "REGISTER.Options",
                key: "concurrency",
                problem: "must be at least 1".into(),
            });
        }
        Ok(Self {
            policy: r.policy()?,
            invoke,
            disclose_caller: r.flag("disclose_caller")?.unwrap_or(false),
            force_reregister: r.flag("force_reregister")?.unwrap_or(false),
            forward_timeout: r.flag("forward_timeout")?.unwrap_or(false),
            concurrency,
        })
    }
}

/// `CALL.Options`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CallOptions {
    /// The call's timeout in milliseconds (0: none).
    pub timeout: u64,
    /// Whether the caller takes progressive results.
    pub receive_progress: bool,
    /// Whether more parts of this call's arguments follow (progressive call invocations).
    pub progress: bool,
    /// Whether the caller asks to be disclosed.
    pub disclose_me: bool,
    /// Payload passthru mode.
    pub passthru: Passthru,
}

impl CallOptions {
    /// Reads the known keys of `options`.
    pub fn parse(options: &Dict) -> Result<Self, OptionError> {
        let r = Reader {
            message: "CALL.Options",
            dict: options,
        };
        Ok(Self {
            timeout: r.int("timeout")?.unwrap_or(0),
            receive_progress: r.flag("receive_progress")?.unwrap_or(false),
            progress: r.flag("progress")?.unwrap_or(false),
            disclose_me: r.flag("disclose_me")?.unwrap_or(false),
            passthru: r.passthru()?,
        })
    }
}

/// `YIELD.Options`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct YieldOptions {
    /// Whether this is a progressive result (more follow).
    pub progress: bool,
    /// Payload passthru mode.
    pub passthru: Passthru,
}

impl YieldOptions {
    /// Reads the known keys of `options`.
    pub fn parse(options: &Dict) -> Result<Self, OptionError> {
        let r = Reader {
            message: "YIELD.Options",
            dict: options,
        };
        Ok(Self {
            progress: r.flag("progress")?.unwrap_or(false),
            passthru: r.passthru()?,
        })
    }
}

/// `ERROR.Details` of a callee's error for an invocation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ErrorDetails {
    /// Payload passthru mode.
    pub passthru: Passthru,
}

impl ErrorDetails {
    /// Reads the known keys of `details`.
    pub fn parse(details: &Dict) -> Result<Self, OptionError> {
        let r = Reader {
            message: "ERROR.Details",
            dict: details,
        };
        Ok(Self {
            passthru: r.passthru()?,
        })
    }
}

/// `CANCEL.Options`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CancelOptions {
    /// How the call ends.
    pub mode: CancelMode,
}

impl CancelOptions {
    /// Reads the known keys of `options`.
    pub fn parse(options: &Dict) -> Result<Self, OptionError> {
        let r = Reader {
            message: "CANCEL.Options",
            dict: options,
        };
        let mode = match r.str("mode")? {
            None => CancelMode::Kill,
            Some(m) => CancelMode::parse(m).ok_or_else(|| OptionError {
                message: "CANCEL.Options",
                key: "mode",
                problem: format!("unknown cancel mode {m:?} (use skip, kill or killnowait)"),
            })?,
        };
        Ok(Self { mode })
    }
}
