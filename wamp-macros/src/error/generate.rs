//! The code of a WampError derive: `ApplicationError` (to and from the wire, the catch-all
//! variant taking what the others do not) and `From<T> for WampError`.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{DeriveInput, Ident};

use super::model::{Case, Style};

pub(super) fn generate(input: &DeriveInput, cases: &[Case]) -> TokenStream {
    let rt = quote!(::wamp_runtime::__private);
    let name = &input.ident;
    let mut to_arms = Vec::new();
    let mut from_arms = Vec::new();
    let mut checks = Vec::new();
    let mut catch_all = quote!();
    for c in cases {
        if c.other.is_some() {
            let (Some(v), Some(f)) = (&c.variant, c.fields.first()) else {
                continue;
            };
            // The field's type must be WampError: a mismatch is reported at it.
            let rt_at = quote_spanned!(f.ty.span()=> ::wamp_runtime::__private);
            to_arms
                .push(quote_spanned!(f.ty.span()=> #name::#v(__e) => #rt_at::catch_all_to(__e),));
            catch_all = quote_spanned! {f.ty.span()=>
                _ if #rt_at::catch_all_takes(__e) => #rt::Option::Some(#name::#v(#rt_at::catch_all_from(__e))),
            };
            continue;
        }
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
    let cases = error_cases(name, cases);
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
                    #catch_all
                    _ => #rt::Option::None,
                }
            }

            #cases
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

/// `ApplicationError::error_cases`: each case's URI, name, doc comment and fields (tuple
/// fields as args, named ones as kwargs), for the interface description.
fn error_cases(name: &Ident, cases: &[Case]) -> TokenStream {
    let rt = quote!(::wamp_runtime::__private);
    let gen = quote!(__g);
    let made = cases.iter().filter(|c| c.other.is_none()).map(|c| {
        let uri = c.uri.as_ref().map(|(u, _)| u.as_str()).unwrap_or_default();
        let rust = match &c.variant {
            Some(v) => format!("{name}::{v}"),
            None => name.to_string(),
        };
        let description = crate::docs::optional(c.docs.as_deref());
        let mut args = Vec::new();
        let mut kwargs = Vec::new();
        for (i, f) in c.fields.iter().enumerate() {
            let schema = crate::docs::schema(&f.ty, &gen);
            let required = !crate::docs::is_option(&f.ty);
            let description = crate::docs::optional(f.docs.as_deref());
            let field = match &f.ident {
                Some(n) => n.to_string(),
                None => i.to_string(),
            };
            let param = quote! {
                #rt::InterfaceParam {
                    name: ::core::convert::From::from(#field),
                    schema: #schema,
                    required: #required,
                    description: #description,
                }
            };
            if f.ident.is_some() {
                kwargs.push(param);
            } else {
                args.push(param);
            }
        }
        quote! {
            #rt::ErrorCase {
                uri: ::core::convert::From::from(#uri),
                name: #rt::Option::Some(::core::convert::From::from(#rust)),
                description: #description,
                args: ::core::convert::From::from([#(#args),*]),
                kwargs: ::core::convert::From::from([#(#kwargs),*]),
            }
        }
    });
    quote! {
        fn error_cases(__g: &mut #rt::SchemaGenerator) -> #rt::Vec<#rt::ErrorCase> {
            #[allow(unused_imports)]
            use #rt::{HasSchema as _, NoSchema as _};
            ::core::convert::From::from([#(#made),*])
        }
    }
}
