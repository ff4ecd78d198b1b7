//! `#[derive(WampError)]`: parse the enum (or struct) into cases with URIs
//! ([`model`]), validate them, and generate `ApplicationError` and `From<T> for WampError`.

mod generate;
mod model;
mod validate;

use proc_macro2::TokenStream;
use syn::{Data, DeriveInput};

use crate::diag::Errors;
use model::{case_attrs, fields, style, Case};

pub(crate) fn expand(item: TokenStream) -> TokenStream {
    let mut input: DeriveInput = match syn::parse2(item) {
        Ok(i) => i,
        Err(e) => return e.to_compile_error(),
    };
    let mut errors = Errors::default();
    let on_type = case_attrs(&mut input.attrs, &mut errors);
    let cases: Vec<Case> = match &mut input.data {
        Data::Enum(e) => {
            if let Some(span) = on_type.uri.as_ref().map(|u| u.1).or(on_type.other) {
                errors.push(syn::Error::new(
                    span,
                    "on an enum, each variant has its own `#[wamp(uri = \"...\")]` (or `#[wamp(other)]`)",
                ));
            }
            e.variants
                .iter_mut()
                .map(|v| {
                    let attrs = case_attrs(&mut v.attrs, &mut errors);
                    (v, attrs)
                })
                .map(|(v, attrs)| Case {
                    uri: attrs.uri,
                    other: attrs.other,
                    variant: Some(v.ident.clone()),
                    style: style(&v.fields),
                    fields: fields(&v.fields),
                    span: v.ident.span(),
                    docs: crate::docs::text(&v.attrs),
                })
                .collect()
        }
        Data::Struct(s) => vec![Case {
            variant: None,
            uri: on_type.uri,
            other: on_type.other,
            style: style(&s.fields),
            fields: fields(&s.fields),
            span: input.ident.span(),
            docs: crate::docs::text(&input.attrs),
        }],
        Data::Union(_) => {
            errors.at(
                &input.ident,
                "#[derive(WampError)] works on enums and structs",
            );
            Vec::new()
        }
    };
    validate::check(&input, &cases, &mut errors);
    if let Some(errs) = errors.into_tokens() {
        return errs;
    }
    generate::generate(&input, &cases)
}
