//! Message type codes and the error and close URIs that the specification defines.

/// Message type codes, as the specification numbers them.
pub mod code {
    #![allow(missing_docs)]
    pub const HELLO: u64 = 1;
    pub const WELCOME: u64 = 2;
    pub const ABORT: u64 = 3;
    pub const CHALLENGE: u64 = 4;
    pub const AUTHENTICATE: u64 = 5;
    pub const GOODBYE: u64 = 6;
    pub const ERROR: u64 = 8;
    pub const PUBLISH: u64 = 16;
    pub const PUBLISHED: u64 = 17;
    pub const SUBSCRIBE: u64 = 32;
    pub const SUBSCRIBED: u64 = 33;
    pub const UNSUBSCRIBE: u64 = 34;
    pub const UNSUBSCRIBED: u64 = 35;
    pub const EVENT: u64 = 36;
    pub const CALL: u64 = 48;
    pub const CANCEL: u64 = 49;
    pub const RESULT: u64 = 50;
    pub const REGISTER: u64 = 64;
    pub const REGISTERED: u64 = 65;
    pub const UNREGISTER: u64 = 66;
    pub const UNREGISTERED: u64 = 67;
    pub const INVOCATION: u64 = 68;
    pub const INTERRUPT: u64 = 69;
    pub const YIELD: u64 = 70;
    /// Acknowledged event delivery (implementation-specific code, as Autobahn uses it).
    pub const EVENT_RECEIVED: u64 = 337;
}

/// Error URIs of the specification.
pub mod error {
    #![allow(missing_docs)]
    pub const INVALID_URI: &str = "wamp.error.invalid_uri";
    pub const NO_SUCH_PROCEDURE: &str = "wamp.error.no_such_procedure";
    pub const PROCEDURE_ALREADY_EXISTS: &str = "wamp.error.procedure_already_exists";
    /// A shared registration exists with another invocation policy (Crossbar.io, Autobahn).
    pub const PROCEDURE_EXISTS_WITH_DIFFERENT_INVOCATION_POLICY: &str =
        "wamp.error.procedure_exists_with_different_invocation_policy";
    pub const NO_SUCH_REGISTRATION: &str = "wamp.error.no_such_registration";
    pub const NO_SUCH_SUBSCRIPTION: &str = "wamp.error.no_such_subscription";
    pub const INVALID_ARGUMENT: &str = "wamp.error.invalid_argument";
    pub const NO_SUCH_REALM: &str = "wamp.error.no_such_realm";
    pub const NO_SUCH_ROLE: &str = "wamp.error.no_such_role";
    pub const NO_SUCH_SESSION: &str = "wamp.error.no_such_session";
    pub const PROTOCOL_VIOLATION: &str = "wamp.error.protocol_violation";
    pub const NOT_AUTHORIZED: &str = "wamp.error.not_authorized";
    pub const AUTHORIZATION_FAILED: &str = "wamp.error.authorization_failed";
    pub const AUTHENTICATION_FAILED: &str = "wamp.error.authentication_failed";
    pub const NO_AUTH_METHOD: &str = "wamp.error.no_auth_method";
    pub const CANCELED: &str = "wamp.error.canceled";
    pub const TIMEOUT: &str = "wamp.error.timeout";
    /// The caller has as many calls in flight as the router allows (this router's URI:
    /// the spec names none).
    pub const TOO_MANY_CALLS: &str = "wamp.error.too_many_calls";
    pub const OPTION_NOT_ALLOWED: &str = "wamp.error.option_not_allowed";
    pub const RUNTIME_ERROR: &str = "wamp.error.runtime_error";
    pub const UNAVAILABLE: &str = "wamp.error.unavailable";
    pub const NO_AVAILABLE_CALLEE: &str = "wamp.error.no_available_callee";
    pub const FEATURE_NOT_SUPPORTED: &str = "wamp.error.feature_not_supported";
    pub const PAYLOAD_SIZE_EXCEEDED: &str = "wamp.error.payload_size_exceeded";
}

/// Reasons of GOODBYE and ABORT from the specification.
pub mod close {
    #![allow(missing_docs)]
    pub const NORMAL: &str = "wamp.close.normal";
    pub const SYSTEM_SHUTDOWN: &str = "wamp.close.system_shutdown";
    pub const CLOSE_REALM: &str = "wamp.close.close_realm";
    pub const GOODBYE_AND_OUT: &str = "wamp.close.goodbye_and_out";
    pub const KILLED: &str = "wamp.close.killed";
}
