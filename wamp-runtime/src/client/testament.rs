//! Session testaments (Advanced Profile): publications left with the router, which
//! publishes them when this session goes away, cleanly or not.
//!
//! ```no_run
//! # async fn demo(session: wamp_runtime::Session) -> Result<(), wamp_runtime::Error> {
//! use wamp_runtime::TestamentScope;
//! // Subscribers of `com.example.presence` hear of this session leaving, however it ends.
//! session
//!     .publish("com.example.presence", ("gone",))
//!     .kwargs(serde_json::json!({ "who": "worker-1" }))
//!     .testament(TestamentScope::Destroyed)
//!     .await?;
//! // Leaving on purpose, with nothing to announce:
//! session.flush_testaments(TestamentScope::Destroyed).await?;
//! # Ok(()) }
//! ```

use std::future::IntoFuture;

use super::error::Error;
use super::{Args, Publish, Session};
use crate::proto::{is_valid_uri, Dict, UriRule, Value};
use crate::transport::BoxFuture;

/// When the router publishes a testament.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TestamentScope {
    /// When the session is destroyed (it left, or its connection was lost): the default.
    #[default]
    Destroyed,
    /// When the session is detached from its transport. Without session resumption this
    /// is the same moment as destroyed; detached testaments go out first.
    Detached,
}

impl TestamentScope {
    fn as_str(self) -> &'static str {
        match self {
            TestamentScope::Destroyed => "destroyed",
            TestamentScope::Detached => "detached",
        }
    }

    fn kwargs(self) -> Dict {
        let mut k = Dict::new();
        k.insert("scope".into(), Value::Str(self.as_str().into()));
        k
    }
}

impl Publish {
    /// Leaves this publication with the router instead of publishing it now
    /// (`wamp.session.add_testament`): its topic, arguments and options (`acknowledge`
    /// aside) are published when this session goes away in `scope`. Typed topics get it
    /// too: `topic.publish(&session).testament(scope)`.
    pub fn testament(self, scope: TestamentScope) -> Testament {
        Testament {
            publish: self,
            scope,
        }
    }
}

/// A testament about to be left with the router; `.await` it to hand it over (the
/// router's ERROR if it refuses: `wamp.error.not_authorized` for a topic this session may
/// not publish to, `wamp.error.invalid_uri`, `wamp.error.invalid_argument`).
#[must_use = "a testament is not left until it is awaited"]
pub struct Testament {
    publish: Publish,
    scope: TestamentScope,
}

impl Testament {
    async fn run(self) -> Result<(), Error> {
        let (session, topic, args, mut options) = self.publish.into_parts();
        let args = args.and_then(|a| a.into_args()).map_err(Error::Serialize)?;
        if args.passthru.is_set() {
            return Err(Error::Invalid(
                "a testament carries its arguments: an opaque payload cannot be one".into(),
            ));
        }
        if !is_valid_uri(&topic, UriRule::Loose) {
            return Err(Error::Invalid(format!("invalid topic URI {topic:?}")));
        }
        options.shift_remove("acknowledge");
        let mut kwargs = self.scope.kwargs();
        kwargs.insert("publish_options".into(), Value::Dict(options));
        let call_args = (topic, Value::List(args.args), Value::Dict(args.kwargs));
        // Our router and Crossbar.io answer the publication ID, the spec nothing.
        session
            .call::<Args>("wamp.session.add_testament", call_args)
            .kwargs(kwargs)
            .await
            .map(drop)
    }
}

impl IntoFuture for Testament {
    type Output = Result<(), Error>;
    type IntoFuture = BoxFuture<'static, Result<(), Error>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}

impl Session {
    /// Drops this session's testaments of `scope` (`wamp.session.flush_testaments`): how
    /// many there were, as our router and Crossbar.io say (0 from a router that answers
    /// nothing, as the spec has it).
    pub async fn flush_testaments(&self, scope: TestamentScope) -> Result<u64, Error> {
        let n: Option<u64> = self
            .call("wamp.session.flush_testaments", ())
            .kwargs(scope.kwargs())
            .await?;
        Ok(n.unwrap_or(0))
    }
}
