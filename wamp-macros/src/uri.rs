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
