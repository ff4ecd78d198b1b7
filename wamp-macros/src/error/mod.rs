//! `#[derive(WampError)]`: parse the enum (or struct) into variants with URIs, validate,
//! and generate `ApplicationError` and `From<T> for WampError`.

use std::collections::HashMap;

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields, Ident, Type};

use crate::attrs;
use crate::diag::Errors;
use crate::uri;

/// One error case: a variant (or the struct itself) with its URI.
struct Case {
    /// `None` for a struct.
    variant: Option<Ident>,
    uri: Option<(String, Span)>,
    fields: Vec<Field>,
    style: Style,
    span: Span,
}

struct Field {
    ident: Option<Ident>,
    ty: Type,
}

#[derive(Clone, Copy, PartialEq)]
enum Style {
    Unit,
    Tuple,
    Named,
}

fn style(fields: &Fields) -> Style {
    match fields {
        Fields::Unit => Style::Unit,
        Fields::Unnamed(_) => Style::Tuple,
        Fields::Named(_) => Style::Named,
    }
}

fn uri_of(attrs: &mut Vec<syn::Attribute>, errors: &mut Errors) -> Option<(String, Span)> {
    let mut uri = None;
    match attrs::take_wamp(attrs) {
        Ok(items) => {
            for i in attrs::allowed(items, &["uri"], "error option", errors) {
                match i.string() {
                    Ok(u) => uri = Some(u),
                    Err(e) => errors.push(e),
                }
            }
        }
        Err(e) => errors.push(e),
    }
    uri
}

fn fields(f: &Fields) -> Vec<Field> {
    f.iter()
        .map(|f| Field {
            ident: f.ident.clone(),
            ty: f.ty.clone(),
        })
        .collect()
}

pub(crate) fn expand(item: TokenStream) -> TokenStream {
    let mut input: DeriveInput = match syn::parse2(item) {
        Ok(i) => i,
        Err(e) => return e.to_compile_error(),
    };
    let mut errors = Errors::default();
    let type_uri = uri_of(&mut input.attrs, &mut errors);
    let cases: Vec<Case> = match &mut input.data {
        Data::Enum(e) => {
            if let Some((_, span)) = &type_uri {
                errors.push(syn::Error::new(
                    *span,
                    "on an enum, each variant has its own `#[wamp(uri = \"...\")]`",
                ));
            }
            e.variants
                .iter_mut()
                .map(|v| Case {
                    uri: uri_of(&mut v.attrs, &mut errors),
                    variant: Some(v.ident.clone()),
                    style: style(&v.fields),
                    fields: fields(&v.fields),
                    span: v.ident.span(),
                })
                .collect()
        }
        Data::Struct(s) => vec![Case {
            variant: None,
            uri: type_uri,
            style: style(&s.fields),
            fields: fields(&s.fields),
            span: input.ident.span(),
        }],
        Data::Union(_) => {
            errors.at(
                &input.ident,
                "#[derive(WampError)] works on enums and structs",
            );
            Vec::new()
        }
    };
    validate(&input, &cases, &mut errors);
    if let Some(errs) = errors.into_tokens() {
        return errs;
    }
    generate(&input, &cases)
}

fn validate(input: &DeriveInput, cases: &[Case], errors: &mut Errors) {
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

fn generate(input: &DeriveInput, cases: &[Case]) -> TokenStream {
    let rt = quote!(::wamp_runtime::__private);
    let name = &input.ident;
    let mut to_arms = Vec::new();
    let mut from_arms = Vec::new();
    let mut checks = Vec::new();
    for c in cases {
        let uri = c.uri.as_ref().map(|(u, _)| u.as_str()).unwrap_or_default();
        let path = match &c.variant {
            Some(v) => quote!(#name::#v),
            None => quote!(#name),
        };
        let bindings: Vec<Ident> = c
            .fields
            .iter()
            .enumerate()
            .map(|(i, f)| {
                f.ident
                    .clone()
                    .unwrap_or_else(|| quote::format_ident!("__f{}", i))
            })
            .collect();
        let pattern = match c.style {
            Style::Unit => quote!(#path),
            Style::Tuple => quote!(#path(#(#bindings),*)),
            Style::Named => quote!(#path { #(#bindings),* }),
        };
        let adds = c.fields.iter().zip(&bindings).map(|(f, b)| match &f.ident {
            Some(n) => {
                let key = n.to_string();
                quote_spanned!(f.ty.span()=> .kwarg(#key, #b))
            }
            None => quote_spanned!(f.ty.span()=> .arg(#b)),
        });
        to_arms.push(quote!(#pattern => #rt::WampError::new(#uri) #(#adds)*,));
        let reads = c.fields.iter().enumerate().map(|(i, f)| {
            let ty = &f.ty;
            let read = match &f.ident {
                Some(n) => {
                    let key = n.to_string();
                    quote!(#rt::error_field::<#ty>(__e, #i, #rt::Option::Some(#key))?)
                }
                None => quote!(#rt::error_field::<#ty>(__e, #i, #rt::Option::None)?),
            };
            match &f.ident {
                Some(n) => quote!(#n: #read),
                None => read,
            }
        });
        let build = match c.style {
            Style::Unit => quote!(#path),
            Style::Tuple => quote!(#path(#(#reads),*)),
            Style::Named => quote!(#path { #(#reads),* }),
        };
        from_arms.push(quote!(#uri => #rt::Option::Some(#build),));
        for f in &c.fields {
            let ty = &f.ty;
            checks.push(quote_spanned!(ty.span()=> __wire::<#ty>();));
        }
    }
    quote! {
        impl #rt::ApplicationError for #name {
            fn to_wamp_error(&self) -> #rt::WampError {
                match self {
                    #(#to_arms)*
                }
            }

            fn from_wamp_error(__e: &#rt::WampError) -> #rt::Option<Self> {
                match __e.uri.as_str() {
                    #(#from_arms)*
                    _ => #rt::Option::None,
                }
            }
        }

        impl ::core::convert::From<#name> for #rt::WampError {
            fn from(e: #name) -> Self {
                #rt::ApplicationError::to_wamp_error(&e)
            }
        }

        const _: () = {
            fn __wire<T: #rt::serde::Serialize + #rt::serde::de::DeserializeOwned>() {}
            #[allow(dead_code)]
            fn __checks() {
                #(#checks)*
            }
        };
    }
}
