//! `#[wamp(key = "value", flag, n = 5, list(A, b::C))]` and the macro arguments of the
//! same form.

use proc_macro2::{Span, TokenStream};
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::{Attribute, Ident, Lit, Token};

use crate::diag::Errors;

/// One `key`, `key = literal` or `key(Path, ...)` item. Keys may be Rust keywords
/// (`match`).
pub(crate) struct Item {
    pub key: Ident,
    pub value: Option<Lit>,
    pub list: Option<Vec<syn::Path>>,
}

impl Parse for Item {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let key = Ident::parse_any(input)?;
        let mut list = None;
        let value = if input.peek(Token![=]) {
            input.parse::<Token![=]>()?;
            Some(input.parse()?)
        } else {
            if input.peek(syn::token::Paren) {
                let inner;
                syn::parenthesized!(inner in input);
                let paths = Punctuated::<syn::Path, Token![,]>::parse_terminated(&inner)?;
                list = Some(paths.into_iter().collect());
            }
            None
        };
        Ok(Item { key, value, list })
    }
}

impl Item {
    /// The key as a string (`r#match` reads as `match`).
    pub fn name(&self) -> String {
        self.key.unraw().to_string()
    }

    /// The string value, or an error saying the key wants one.
    pub fn string(&self) -> syn::Result<(String, Span)> {
        match &self.value {
            Some(Lit::Str(s)) => Ok((s.value(), s.span())),
            _ => Err(syn::Error::new_spanned(
                &self.key,
                format!("write `{} = \"...\"`", self.name()),
            )),
        }
    }

    /// The integer value, or an error saying the key wants one.
    pub fn integer(&self) -> syn::Result<(u64, Span)> {
        match &self.value {
            Some(Lit::Int(i)) => Ok((i.base10_parse()?, i.span())),
            _ => Err(syn::Error::new_spanned(
                &self.key,
                format!("write `{} = <number>`", self.name()),
            )),
        }
    }

    /// The paths of a `key(A, b::C)` item, or an error saying the key wants them.
    pub fn paths(&self) -> syn::Result<&[syn::Path]> {
        match &self.list {
            Some(paths) => Ok(paths),
            None => Err(syn::Error::new_spanned(
                &self.key,
                format!("write `{}(TypeA, TypeB)`", self.name()),
            )),
        }
    }

    /// An error unless this is a bare flag.
    pub fn flag(&self) -> syn::Result<Span> {
        if self.list.is_some() {
            return Err(syn::Error::new_spanned(
                &self.key,
                format!(
                    "`{}` takes no list: write just `{}`",
                    self.name(),
                    self.name()
                ),
            ));
        }
        match &self.value {
            None => Ok(self.key.span()),
            Some(v) => Err(syn::Error::new_spanned(
                v,
                format!(
                    "`{}` takes no value: write just `{}`",
                    self.name(),
                    self.name()
                ),
            )),
        }
    }
}

/// Parses a comma-separated list of items.
pub(crate) fn parse_items(tokens: TokenStream) -> syn::Result<Vec<Item>> {
    let parser = Punctuated::<Item, Token![,]>::parse_terminated;
    Ok(parser.parse2(tokens)?.into_iter().collect())
}

/// Removes the `#[wamp(...)]` attributes from `attrs` and parses their items.
pub(crate) fn take_wamp(attrs: &mut Vec<Attribute>) -> syn::Result<Vec<Item>> {
    let mut items = Vec::new();
    let mut error: Option<syn::Error> = None;
    attrs.retain(|a| {
        if !a.path().is_ident("wamp") {
            return true;
        }
        match a
            .meta
            .require_list()
            .and_then(|l| parse_items(l.tokens.clone()))
        {
            Ok(mut i) => items.append(&mut i),
            Err(e) => match &mut error {
                Some(all) => all.combine(e),
                None => error = Some(e),
            },
        }
        false
    });
    match error {
        Some(e) => Err(e),
        None => Ok(items),
    }
}

/// Keeps the items whose key is one of `allowed`, each once: a key not allowed, or given a
/// second time (`#[wamp(uri = "a", uri = "b")]`), is reported at its tokens and left out.
/// `what` names the items in the message ("procedure option").
pub(crate) fn allowed(
    items: Vec<Item>,
    allowed: &[&str],
    what: &str,
    errors: &mut Errors,
) -> Vec<Item> {
    let mut seen: Vec<String> = Vec::new();
    let mut kept = Vec::new();
    for item in items {
        let name = item.name();
        if !allowed.contains(&name.as_str()) {
            let choices = allowed
                .iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ");
            errors.at(&item.key, format!("unknown {what} `{name}`: use {choices}"));
        } else if seen.contains(&name) {
            errors.at(&item.key, format!("`{name}` is given twice"));
        } else {
            seen.push(name);
            kept.push(item);
        }
    }
    kept
}
