//! URI validation, with the strict and loose rules of the specification.
//!
//! - loose: components are non-empty and contain no whitespace, `.` or `#`;
//! - strict: components contain only lower-case letters, digits and `_`.
//!
//! Pattern-based subscriptions and registrations (`wildcard` match) may leave components
//! empty; a `prefix` pattern may end after any complete component.

/// Which rule URIs are checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UriRule {
    /// Any character but whitespace, `.` and `#` inside a component.
    #[default]
    Loose,
    /// Only `[0-9a-z_]` inside a component.
    Strict,
}

/// How a URI of a subscription or registration is matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum MatchPolicy {
    /// The URI is matched exactly.
    #[default]
    Exact,
    /// The URI is a prefix of the matched URIs.
    Prefix,
    /// Empty components of the URI match any component.
    Wildcard,
}

impl MatchPolicy {
    /// Parses the `match` option value.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "exact" => Some(Self::Exact),
            "prefix" => Some(Self::Prefix),
            "wildcard" => Some(Self::Wildcard),
            _ => None,
        }
    }

    /// The option value naming this policy.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Exact => "exact",
            Self::Prefix => "prefix",
            Self::Wildcard => "wildcard",
        }
    }
}

fn component_ok(c: &str, rule: UriRule) -> bool {
    match rule {
        UriRule::Loose => !c
            .chars()
            .any(|ch| ch.is_whitespace() || ch == '.' || ch == '#'),
        UriRule::Strict => c
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
    }
}

/// Whether `uri` is a valid URI (no empty components).
pub fn is_valid_uri(uri: &str, rule: UriRule) -> bool {
    if uri.is_ascii() {
        // One pass over the bytes: every CALL and PUBLISH asks.
        return is_valid_ascii_uri(uri.as_bytes(), rule);
    }
    !uri.is_empty()
        && uri
            .split('.')
            .all(|c| !c.is_empty() && component_ok(c, rule))
}

/// `is_valid_uri` for an ASCII URI, without splitting it.
fn is_valid_ascii_uri(uri: &[u8], rule: UriRule) -> bool {
    let mut component_empty = true;
    for &b in uri {
        if b == b'.' {
            if component_empty {
                return false;
            }
            component_empty = true;
            continue;
        }
        component_empty = false;
        let ok = match rule {
            // What `char::is_whitespace` is in ASCII: space, \t, \n, \x0B, \x0C, \r.
            UriRule::Loose => !matches!(b, b' ' | b'\t'..=b'\r' | b'#'),
            UriRule::Strict => b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_',
        };
        if !ok {
            return false;
        }
    }
    !component_empty
}

/// Whether `uri` is a valid pattern for the given match policy.
pub fn is_valid_pattern(uri: &str, rule: UriRule, policy: MatchPolicy) -> bool {
    match policy {
        MatchPolicy::Exact => is_valid_uri(uri, rule),
        // A prefix may be any string of valid components, possibly ending in a dot or
        // inside a component ("com.example.", "com.exa"); it must not be empty.
        MatchPolicy::Prefix => !uri.is_empty() && uri.split('.').all(|c| component_ok(c, rule)),
        // Wildcards are empty components; at least one component must be given.
        MatchPolicy::Wildcard => {
            uri.split('.').all(|c| component_ok(c, rule)) && uri.split('.').any(|c| !c.is_empty())
        }
    }
}

/// Whether a concrete `uri` matches `pattern` under `policy`.
pub fn matches(pattern: &str, policy: MatchPolicy, uri: &str) -> bool {
    match policy {
        MatchPolicy::Exact => pattern == uri,
        MatchPolicy::Prefix => uri.starts_with(pattern),
        MatchPolicy::Wildcard => {
            let mut p = pattern.split('.');
            let mut u = uri.split('.');
            loop {
                match (p.next(), u.next()) {
                    (None, None) => return true,
                    (Some(pc), Some(uc)) if pc.is_empty() || pc == uc => {}
                    _ => return false,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ascii_pass_agrees_with_the_component_split() {
        let split = |u: &str, rule| {
            !u.is_empty() && u.split('.').all(|c| !c.is_empty() && component_ok(c, rule))
        };
        let samples = [
            "",
            ".",
            "a",
            "a.",
            ".a",
            "a..b",
            "a.b",
            "com.app_1.x",
            "com.App",
            "a b",
            "a\tb",
            "a\x0bb",
            "a\x0cb",
            "a\rb",
            "a\nb",
            "a#b",
            "a-b",
            "a.b.c.",
            "x\x00y",
            "~",
        ];
        for u in samples {
            for rule in [UriRule::Loose, UriRule::Strict] {
                assert_eq!(
                    is_valid_ascii_uri(u.as_bytes(), rule),
                    split(u, rule),
                    "{u:?}"
                );
            }
        }
    }

    #[test]
    fn loose_and_strict() {
        assert!(is_valid_uri("com.myapp.topic1", UriRule::Strict));
        assert!(is_valid_uri("com.myApp.Topic-1", UriRule::Loose));
        assert!(!is_valid_uri("com.myApp.Topic", UriRule::Strict));
        for bad in [
            "",
            ".",
            "com..app",
            "com.app.",
            ".com",
            "com.my app",
            "com.#",
        ] {
            assert!(!is_valid_uri(bad, UriRule::Loose), "{bad:?}");
        }
    }

    #[test]
    fn patterns() {
        assert!(is_valid_pattern(
            "com..topic",
            UriRule::Loose,
            MatchPolicy::Wildcard
        ));
        assert!(!is_valid_pattern(
            "..",
            UriRule::Loose,
            MatchPolicy::Wildcard
        ));
        assert!(is_valid_pattern(
            "com.example.",
            UriRule::Loose,
            MatchPolicy::Prefix
        ));
        assert!(!is_valid_pattern(
            "com..topic",
            UriRule::Loose,
            MatchPolicy::Exact
        ));
        assert!(matches("com..topic", MatchPolicy::Wildcard, "com.a.topic"));
        assert!(!matches(
            "com..topic",
            MatchPolicy::Wildcard,
            "com.a.b.topic"
        ));
        assert!(matches("com.ex", MatchPolicy::Prefix, "com.example.x"));
        assert!(!matches("com.ex", MatchPolicy::Exact, "com.example.x"));
    }
}
