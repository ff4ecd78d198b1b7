//! Compile-time URI checks: the spec's loose rule (non-empty components without
//! whitespace or `#`), plus the router's reservation of `wamp.` URIs.

/// Why `uri` is not a URI a service may use, if it is not.
pub(crate) fn problem(uri: &str) -> Option<String> {
    if uri.is_empty() {
        return Some("a URI cannot be empty".into());
    }
    if uri.split('.').any(str::is_empty) {
        return Some(format!(
            "{uri:?} has an empty component: URIs look like \"com.example.add\""
        ));
    }
    if uri.chars().any(|c| c.is_whitespace() || c == '#') {
        return Some(format!(
            "{uri:?} contains whitespace or '#', which URIs cannot"
        ));
    }
    if uri.starts_with("wamp.") {
        return Some(format!(
            "{uri:?}: URIs starting with \"wamp.\" are reserved for the router"
        ));
    }
    None
}

/// The error URIs the WAMP spec defines (its URI reference, basic and advanced profile,
/// and the meta API's): an error type may use these, and no other `wamp.` URI.
pub(crate) const SPEC_ERRORS: [&str; 28] = [
    "wamp.error.authentication_denied",
    "wamp.error.authentication_failed",
    "wamp.error.authentication_required",
    "wamp.error.authorization_denied",
    "wamp.error.authorization_failed",
    "wamp.error.authorization_required",
    "wamp.error.canceled",
    "wamp.error.feature_not_supported",
    "wamp.error.invalid_argument",
    "wamp.error.invalid_uri",
    "wamp.error.network_failure",
    "wamp.error.no_available_callee",
    "wamp.error.no_matching_auth_method",
    "wamp.error.no_such_principal",
    "wamp.error.no_such_procedure",
    "wamp.error.no_such_realm",
    "wamp.error.no_such_registration",
    "wamp.error.no_such_role",
    "wamp.error.no_such_session",
    "wamp.error.no_such_subscription",
    "wamp.error.not_authorized",
    "wamp.error.option_disallowed.disclose_me",
    "wamp.error.option_not_allowed",
    "wamp.error.payload_size_exceeded",
    "wamp.error.procedure_already_exists",
    "wamp.error.protocol_violation",
    "wamp.error.timeout",
    "wamp.error.unavailable",
];

/// Why `uri` cannot name an error, if it cannot: as [`problem`], except that the spec's
/// own error URIs ([`SPEC_ERRORS`]) are allowed.
pub(crate) fn error_problem(uri: &str) -> Option<String> {
    if SPEC_ERRORS.contains(&uri) {
        return None;
    }
    if uri.starts_with("wamp.") {
        return Some(format!(
            "{uri:?} is not an error the WAMP spec defines, and other \"wamp.\" URIs are reserved: use your own namespace, or one of the spec's (\"wamp.error.not_authorized\", \"wamp.error.invalid_argument\", …)"
        ));
    }
    problem(uri)
}

/// Why `pattern` is not a valid pattern for `policy` ("prefix" or "wildcard").
pub(crate) fn pattern_problem(pattern: &str, policy: &str) -> Option<String> {
    let bad_char = pattern.chars().any(|c| c.is_whitespace() || c == '#');
    match policy {
        "prefix" if pattern.is_empty() || bad_char => {
            Some(format!("{pattern:?} is not a valid prefix"))
        }
        "wildcard" if bad_char || pattern.split('.').all(str::is_empty) => Some(format!(
            "{pattern:?} is not a valid wildcard pattern (like \"com..update\")"
        )),
        _ if pattern.starts_with("wamp.") => Some(format!(
            "{pattern:?}: URIs starting with \"wamp.\" are reserved for the router"
        )),
        _ => None,
    }
}
