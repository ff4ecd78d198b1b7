//! What a topic must satisfy: a valid URI pattern whose placeholders are whole components
//! naming fields of the struct.

use std::collections::HashSet;

use syn::Fields;

use super::model::{Component, TopicDef};
use crate::diag::Errors;
use crate::uri;

pub(crate) fn check(t: &TopicDef, errors: &mut Errors) {
    if t.pattern.is_empty() && t.components.is_empty() {
        return; // already reported: no pattern at all
    }
    if !t.item.generics.params.is_empty() {
        errors.at(
            &t.item.generics,
            "a topic type cannot be generic: its payload has one wire shape",
        );
    }
    let span = t.pattern_span;
    let mut seen = HashSet::new();
    let mut concrete = Vec::new();
    for c in &t.components {
        match c {
            Component::Literal(l) => concrete.push(l.clone()),
            Component::Malformed(m) => {
                errors.push(syn::Error::new(
                    span,
                    format!("{m:?}: a placeholder is a whole URI component, like \"com.example.{{room}}.temperature\""),
                ));
                concrete.push("x".into());
            }
            Component::Placeholder(name) => {
                concrete.push("x".into());
                if !seen.insert(name.as_str()) {
                    errors.push(syn::Error::new(
                        span,
                        format!("placeholder {{{name}}} appears twice"),
                    ));
                }
                if t.field(name).is_none() {
                    let msg = match &t.item.fields {
                        Fields::Named(f) => {
                            let names: Vec<String> = f
                                .named
                                .iter()
                                .filter_map(|f| f.ident.as_ref().map(ToString::to_string))
                                .collect();
                            format!(
                                "placeholder {{{name}}} names no field of `{}`: its fields are {names:?}",
                                t.item.ident
                            )
                        }
                        _ => format!(
                            "placeholder {{{name}}}: placeholders bind to named fields, and `{}` has none",
                            t.item.ident
                        ),
                    };
                    errors.push(syn::Error::new(span, msg));
                }
            }
        }
    }
    if let Some(p) = uri::problem(&concrete.join(".")) {
        errors.push(syn::Error::new(span, format!("invalid topic URI: {p}")));
    }
}
