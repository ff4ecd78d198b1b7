//! The checks of a WampError derive: every case has a valid URI, no URI is used twice,
//! and the fields travel as WAMP values.

use std::collections::HashMap;

use syn::DeriveInput;

use super::model::Case;
use crate::diag::Errors;
use crate::uri;

pub(super) fn check(input: &DeriveInput, cases: &[Case], errors: &mut Errors) {
    if !input.generics.params.is_empty() {
        errors.at(&input.generics, "an error type for WAMP cannot be generic");
    }
    let mut seen: HashMap<&str, &Case> = HashMap::new();
    for c in cases {
        match &c.uri {
            None => errors.push(syn::Error::new(
                c.span,
                "each error needs its URI: add `#[wamp(uri = \"com.example.error.name\")]`",
            )),
            Some((u, span)) => {
                if let Some(p) = uri::problem(u) {
                    errors.push(syn::Error::new(*span, format!("invalid error URI: {p}")));
                } else if seen.insert(u.as_str(), c).is_some() {
                    errors.push(syn::Error::new(
                        *span,
                        format!(
                            "the URI {u:?} is used twice: a caller could not tell the errors apart"
                        ),
                    ));
                }
            }
        }
    }
}
