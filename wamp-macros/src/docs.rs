//! What an item says about itself for its interface description: its doc comment, its
//! `#[deprecated]` note, and how generated code asks for a type's schema.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Attribute, Expr, Lit, Meta, Type};

/// The text of the doc comments in `attrs`, one leading space of each line removed.
pub(crate) fn text(attrs: &[Attribute]) -> Option<String> {
    let lines: Vec<String> = attrs
        .iter()
        .filter(|a| a.path().is_ident("doc"))
        .filter_map(|a| match &a.meta {
            Meta::NameValue(nv) => string(&nv.value),
            _ => None,
        })
        .map(|l| l.strip_prefix(' ').unwrap_or(&l).trim_end().to_owned())
        .collect();
    let joined = lines.join("\n");
    let trimmed = joined.trim();
    (!trimmed.is_empty()).then(|| trimmed.to_owned())
}

/// The note of a `#[deprecated]` among `attrs` (empty when it has none), if there is one.
pub(crate) fn deprecated(attrs: &[Attribute]) -> Option<String> {
    let attr = attrs.iter().find(|a| a.path().is_ident("deprecated"))?;
    let note = match &attr.meta {
        Meta::NameValue(nv) => string(&nv.value),
        Meta::List(_) => {
            let mut note = None;
            let _ = attr.parse_nested_meta(|m| {
                if m.path.is_ident("note") {
                    note = string(&m.value()?.parse::<Expr>()?);
                }
                Ok(())
            });
            note
        }
        Meta::Path(_) => None,
    };
    Some(note.unwrap_or_default())
}

fn string(e: &Expr) -> Option<String> {
    match e {
        Expr::Lit(l) => match &l.lit {
            Lit::Str(s) => Some(s.value()),
            _ => None,
        },
        _ => None,
    }
}

/// `Some(text)` or `None`, as an expression of type `Option<String>`.
pub(crate) fn optional(text: Option<&str>) -> TokenStream {
    let rt = quote!(::wamp_runtime::__private);
    match text {
        Some(t) => {
            quote!(#rt::Option::Some(<#rt::String as ::core::convert::From<&str>>::from(#t)))
        }
        None => quote!(#rt::Option::None),
    }
}

/// The schema of `ty` from the schema generator `generator` (an expression of type
/// `&mut SchemaGenerator`), with `HasSchema` and `NoSchema` in scope.
pub(crate) fn schema(ty: &Type, generator: &TokenStream) -> TokenStream {
    let rt = quote_spanned!(ty.span()=> ::wamp_runtime::__private);
    quote_spanned!(ty.span()=> (&&#rt::Probe::<#ty>::new()).schema(#generator))
}

/// Whether `ty` is an `Option` (a parameter or field a sender may leave out).
pub(crate) fn is_option(ty: &Type) -> bool {
    match ty {
        Type::Path(p) => p.path.segments.last().is_some_and(|s| s.ident == "Option"),
        _ => false,
    }
}
