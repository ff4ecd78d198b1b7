//! A topic as the macro understands it: the struct, and its URI pattern split into
//! literal components and placeholders.

use proc_macro2::{Span, TokenStream};
use syn::{Fields, Ident, LitStr, Type};

use crate::diag::Errors;

pub(crate) struct TopicDef {
    pub item: syn::ItemStruct,
    pub pattern: String,
    pub pattern_span: Span,
    pub components: Vec<Component>,
}

pub(crate) enum Component {
    Literal(String),
    Placeholder(String),
    /// A component mixing text and braces (`sensor_{room}`): reported by validation.
    Malformed(String),
}

impl TopicDef {
    pub fn parse(
        attr: TokenStream,
        item: syn::ItemStruct,
        errors: &mut Errors,
    ) -> Option<TopicDef> {
        let lit: LitStr = match syn::parse2(attr.clone()) {
            Ok(l) => l,
            Err(_) => {
                let span = if attr.is_empty() {
                    item.ident.span()
                } else {
                    syn::spanned::Spanned::span(&attr)
                };
                errors.push(syn::Error::new(
                    span,
                    "give the topic URI: `#[topic(\"com.example.sensor.{room}.temperature\")]`",
                ));
                return Some(TopicDef {
                    item,
                    pattern: String::new(),
                    pattern_span: span,
                    components: Vec::new(),
                });
            }
        };
        let pattern = lit.value();
        let components = pattern
            .split('.')
            .map(|c| {
                let inner = c.strip_prefix('{').and_then(|r| r.strip_suffix('}'));
                match inner {
                    Some(name) if !name.contains(['{', '}']) => {
                        Component::Placeholder(name.to_owned())
                    }
                    _ if c.contains(['{', '}']) => Component::Malformed(c.to_owned()),
                    _ => Component::Literal(c.to_owned()),
                }
            })
            .collect();
        Some(TopicDef {
            item,
            pattern,
            pattern_span: lit.span(),
            components,
        })
    }

    /// The named field called `name`.
    pub fn field(&self, name: &str) -> Option<(&Ident, &Type)> {
        match &self.item.fields {
            Fields::Named(f) => f.named.iter().find_map(|f| {
                let ident = f.ident.as_ref()?;
                (ident == name).then_some((ident, &f.ty))
            }),
            _ => None,
        }
    }

    /// The placeholder names, in pattern order.
    pub fn placeholders(&self) -> impl Iterator<Item = &str> {
        self.components.iter().filter_map(|c| match c {
            Component::Placeholder(p) => Some(p.as_str()),
            _ => None,
        })
    }
}
