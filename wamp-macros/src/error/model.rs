//! An error type as the derive understands it: one case per variant (or the struct), with
//! its URI and the shape of its fields.

use proc_macro2::Span;
use syn::{Fields, Ident, Type};

use crate::attrs;
use crate::diag::Errors;

/// One error case: a variant (or the struct itself) with its URI.
pub(super) struct Case {
    /// `None` for a struct.
    pub(super) variant: Option<Ident>,
    pub(super) uri: Option<(String, Span)>,
    /// `#[wamp(other)]`: the catch-all for the URIs no other case has.
    pub(super) other: Option<Span>,
    pub(super) fields: Vec<Field>,
    pub(super) style: Style,
    pub(super) span: Span,
    /// The case's doc comment.
    pub(super) docs: Option<String>,
}

pub(super) struct Field {
    pub(super) ident: Option<Ident>,
    pub(super) ty: Type,
    pub(super) docs: Option<String>,
}

#[derive(Clone, Copy, PartialEq)]
pub(super) enum Style {
    Unit,
    Tuple,
    Named,
}

pub(super) fn style(fields: &Fields) -> Style {
    match fields {
        Fields::Unit => Style::Unit,
        Fields::Unnamed(_) => Style::Tuple,
        Fields::Named(_) => Style::Named,
    }
}

/// What a case's `#[wamp(...)]` says: its URI, or that it is the catch-all.
#[derive(Default)]
pub(super) struct CaseAttrs {
    pub(super) uri: Option<(String, Span)>,
    pub(super) other: Option<Span>,
}

pub(super) fn case_attrs(attrs: &mut Vec<syn::Attribute>, errors: &mut Errors) -> CaseAttrs {
    let mut found = CaseAttrs::default();
    match attrs::take_wamp(attrs) {
        Ok(items) => {
            for i in attrs::allowed(items, &["uri", "other"], "error option", errors) {
                let read = if i.name() == "uri" {
                    i.string().map(|u| found.uri = Some(u))
                } else {
                    i.flag().map(|s| found.other = Some(s))
                };
                if let Err(e) = read {
                    errors.push(e);
                }
            }
        }
        Err(e) => errors.push(e),
    }
    found
}

pub(super) fn fields(f: &Fields) -> Vec<Field> {
    f.iter()
        .map(|f| Field {
            ident: f.ident.clone(),
            ty: f.ty.clone(),
            docs: crate::docs::text(&f.attrs),
        })
        .collect()
}
