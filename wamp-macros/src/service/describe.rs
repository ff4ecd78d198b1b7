//! `<Trait>Client::interface()`: the service's interface description, built from the
//! model (URIs, placeholders, wire names, result shape, error types, topics) and the
//! types' JSON Schemas.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::Type;

use super::model::{Output, Procedure, Service};
use crate::docs;

/// The body of `interface()`.
pub(super) fn interface(s: &Service) -> TokenStream {
    let rt = quote!(::wamp_runtime::__private);
    let name = s.item.ident.to_string();
    let description = docs::optional(docs::text(&s.item.attrs).as_deref());
    let prefix = docs::optional(s.prefix.as_ref().map(|(p, _)| p.as_str()));
    let prefix_str = s.prefix.as_ref().map(|(p, _)| p.as_str());
    let procedures = s.procedures.iter().map(|p| procedure(p, prefix_str));
    // Spanned at the user's types, where a type that is not a topic or an error type is
    // reported.
    let topics = s.topics.iter().map(|t| {
        let rt = quote_spanned!(t.span()=> ::wamp_runtime::__private);
        quote_spanned!(t.span()=> let () = {
            let __topic = <#t as #rt::Topic>::describe(__d.schemas());
            __d.topic(__topic);
        };)
    });
    quote! {
        #[allow(unused_imports)]
        use #rt::{HasSchema as _, NoSchema as _};
        let mut __d = #rt::Describer::new(#name, #description, #prefix);
        #(#procedures)*
        #(#topics)*
        __d.finish()
    }
}

/// One procedure added to the describer `__d`.
fn procedure(p: &Procedure, prefix: Option<&str>) -> TokenStream {
    let rt = quote!(::wamp_runtime::__private);
    let gen = quote!(__d.schemas());
    let uri = p.uri(prefix).unwrap_or_default();
    let pattern = p.registered_uri(prefix).unwrap_or_default();
    let policy = match p.match_policy() {
        "prefix" => quote!(#rt::InterfaceMatch::Prefix),
        "wildcard" => quote!(#rt::InterfaceMatch::Wildcard),
        _ => quote!(#rt::InterfaceMatch::Exact),
    };
    let invoke = docs::optional(p.options.invoke.as_ref().map(|(i, _)| i.as_str()));
    let method = {
        use syn::ext::IdentExt;
        docs::optional(Some(p.ident.unraw().to_string().as_str()))
    };
    let description = docs::optional(docs::text(&p.method.attrs).as_deref());
    let deprecated = docs::optional(docs::deprecated(&p.method.attrs).as_deref());
    let mut placeholders = Vec::new();
    let mut args = Vec::new();
    let mut kwargs = Vec::new();
    for param in &p.params {
        let name = &param.wire;
        let schema = docs::schema(&param.ty, &gen);
        if let Some(component) = param.placeholder {
            let tail = param.tail;
            placeholders.push(quote! {
                #rt::InterfacePlaceholder {
                    name: ::core::convert::From::from(#name),
                    component: #component,
                    tail: #tail,
                    schema: #schema,
                }
            });
            continue;
        }
        let required = !docs::is_option(&param.ty);
        let made = quote! {
            #rt::InterfaceParam {
                name: ::core::convert::From::from(#name),
                schema: #schema,
                required: #required,
                description: #rt::Option::None,
            }
        };
        if param.kwarg {
            kwargs.push(made);
        } else {
            args.push(made);
        }
    }
    let unit: Type = syn::parse_quote!(());
    let (ok, err) = match &p.output {
        Output::Unit => (&unit, None),
        Output::Plain(t) => (t, None),
        Output::Result { ok, err } | Output::Stream { ok, err, .. } => (ok, Some(err)),
    };
    let progressive = matches!(p.output, Output::Stream { .. });
    let shape = match p.options.result.as_ref().map(|(s, _)| s.as_str()) {
        Some("args") => quote!(#rt::InterfaceShape::Args),
        Some("kwargs") => quote!(#rt::InterfaceShape::Kwargs),
        _ => quote!(#rt::InterfaceShape::Value),
    };
    let result = docs::schema(ok, &gen);
    let errors = match err {
        Some(e) => {
            let rt = quote_spanned!(e.span()=> ::wamp_runtime::__private);
            quote_spanned! {e.span()=> {
                let __cases = <#e as #rt::ApplicationError>::error_cases(__d.schemas());
                __d.errors(__cases)
            }}
        }
        None => quote!(#rt::Vec::new()),
    };
    let disclose = p.options.disclose_caller.is_some();
    let timeout = match &p.options.timeout_ms {
        Some((ms, _)) => quote!(#rt::Option::Some(#ms)),
        None => quote!(#rt::Option::None),
    };
    let cfgs = p.method.attrs.iter().filter(|a| a.path().is_ident("cfg"));
    quote! {
        #(#cfgs)*
        let () = {
            let __procedure = #rt::InterfaceProcedure {
                uri: ::core::convert::From::from(#uri),
                pattern: ::core::convert::From::from(#pattern),
                match_policy: #policy,
                name: #method,
                invoke: #invoke,
                description: #description,
                placeholders: ::core::convert::From::from([#(#placeholders),*]),
                args: ::core::convert::From::from([#(#args),*]),
                kwargs: ::core::convert::From::from([#(#kwargs),*]),
                result: #rt::InterfacePayload { shape: #shape, schema: #result },
                progressive: #progressive,
                errors: #errors,
                disclose_caller: #disclose,
                timeout_ms: #timeout,
                deprecated: #deprecated,
            };
            __d.procedure(__procedure);
        };
    }
}
