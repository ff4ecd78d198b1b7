//! The checks of a WampError derive: every case has a valid URI (its own, or one the spec
//! defines), no URI is used twice, at most one variant is the catch-all (`other`), and
//! the fields travel as WAMP values.

use std::collections::HashMap;

use syn::DeriveInput;

use super::model::{Case, Style};
use crate::diag::Errors;
use crate::uri;

pub(super) fn check(input: &DeriveInput, cases: &[Case], errors: &mut Errors) {
    if !input.generics.params.is_empty() {
        errors.at(&input.generics, "an error type for WAMP cannot be generic");
    }
    let mut seen: HashMap<&str, &Case> = HashMap::new();
    let mut catch_all: Option<&Case> = None;
    for c in cases {
        if let Some(span) = c.other {
            other(c, span, catch_all.is_some(), errors);
            catch_all = Some(c);
            continue;
        }
        match &c.uri {
            None => errors.push(syn::Error::new(
                c.span,
                "each error needs its URI: add `#[wamp(uri = \"com.example.error.name\")]`",
            )),
            Some((u, span)) => {
                if let Some(p) = uri::error_problem(u) {
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

/// The checks of the catch-all case (`#[wamp(other)]` at `span`).
fn other(c: &Case, span: proc_macro2::Span, second: bool, errors: &mut Errors) {
    if c.variant.is_none() {
        errors.push(syn::Error::new(
            span,
            "`other` marks the variant of an enum that takes every URI the others do not",
        ));
    } else if second {
        errors.push(syn::Error::new(
            span,
            "only one variant can take the URIs the others do not",
        ));
    }
    if let Some((_, uri_span)) = &c.uri {
        errors.push(syn::Error::new(
            *uri_span,
            "the `other` variant has no URI of its own: it takes every URI the others do not",
        ));
    }
    if c.style != Style::Tuple || c.fields.len() != 1 {
        errors.push(syn::Error::new(
            c.span,
            "the `other` variant holds the error as it came: write `Other(WampError)`",
        ));
    }
}
