//! The code a valid topic becomes: the struct as written, its `Key` type, the `Topic`
//! implementation, and inherent `publish` and `subscribe`.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

use super::model::{Component, TopicDef};

pub(crate) fn topic(t: &TopicDef) -> TokenStream {
    let rt = quote!(::wamp_runtime::__private);
    let item = &t.item;
    let vis = &item.vis;
    let name = &item.ident;
    let key = format_ident!("{}Key", name);
    let pattern = &t.pattern;
    let n = t.components.len();

    let placeholders: Vec<_> = t.placeholders().filter_map(|p| t.field(p)).collect();
    let key_fields = placeholders.iter().map(|(ident, ty)| {
        let doc = format!("The `{{{ident}}}` placeholder: `None` leaves it open.");
        quote!(#[doc = #doc] pub #ident: #rt::Option<#ty>,)
    });
    let key_name = key.to_string();
    let debug_fields = placeholders.iter().map(|(ident, _)| {
        let field = ident.to_string();
        quote! {
            .field(#field, &self.#ident.as_ref().map(#rt::TopicComponent::to_component))
        }
    });
    let key_setters = placeholders.iter().map(|(ident, ty)| {
        let doc = format!("Fixes the `{{{ident}}}` placeholder.");
        quote! {
            #[doc = #doc]
            #vis fn #ident(mut self, #ident: impl ::core::convert::Into<#ty>) -> Self {
                self.#ident = #rt::Option::Some(::core::convert::Into::into(#ident));
                self
            }
        }
    });

    let mut to_topic = Vec::new();
    let mut to_subscription = Vec::new();
    let mut read_key = Vec::new();
    for (i, c) in t.components.iter().enumerate() {
        match c {
            Component::Literal(l) | Component::Malformed(l) => {
                to_topic.push(
                    quote!(__parts.push(<#rt::String as ::core::convert::From<&str>>::from(#l));),
                );
                to_subscription.push(
                    quote!(__parts.push(<#rt::String as ::core::convert::From<&str>>::from(#l));),
                );
            }
            Component::Placeholder(p) => {
                let Some((ident, ty)) = t.field(p) else {
                    continue;
                };
                to_topic.push(quote!(__parts.push(#rt::component(&self.#ident, #p)?);));
                to_subscription.push(quote! {
                    match &__key.#ident {
                        #rt::Option::Some(v) => __parts.push(#rt::component(v, #p)?),
                        #rt::Option::None => {
                            __open = true;
                            __parts.push(#rt::String::new());
                        }
                    }
                });
                read_key.push(quote! {
                    #ident: #rt::Option::Some(#rt::parse_component::<#ty>(__parts[#i], #p)?),
                });
            }
        }
    }
    let checks = placeholders
        .iter()
        .map(|(_, ty)| quote_spanned!(ty.span()=> __component::<#ty>();));
    let key_doc = format!(
        "The placeholders of [`{name}`]'s topic `{pattern}`: fixed ones narrow a subscription, \
         open ones (`None`) make it a wildcard subscription."
    );
    let publish_doc = format!(
        "Publishes this value to `{pattern}`, the placeholders filled in from its fields. \
         A struct with named fields travels as keyword arguments."
    );
    let subscribe_doc = format!(
        "Subscribes to `{pattern}`: `key` fixes some placeholders and leaves the others open \
         (`{key}::any()` leaves them all open). Each event carries the placeholders it was \
         published with."
    );

    let describe = describe(t);
    quote! {
        #item

        #[doc = #key_doc]
        #[derive(Clone, Default)]
        #vis struct #key {
            #(#key_fields)*
        }

        impl ::core::fmt::Debug for #key {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.debug_struct(#key_name)
                    #(#debug_fields)*
                    .finish()
            }
        }

        impl #key {
            /// Every placeholder open.
            #vis fn any() -> Self {
                #rt::Default::default()
            }

            #(#key_setters)*
        }

        impl #rt::Topic for #name {
            type Key = #key;
            const PATTERN: &'static str = #pattern;

            fn topic(&self) -> #rt::Result<#rt::String, #rt::ValueError> {
                let mut __parts: #rt::Vec<#rt::String> = #rt::Vec::with_capacity(#n);
                #(#to_topic)*
                #rt::Result::Ok(__parts.join("."))
            }

            fn subscription(
                __key: &#key,
            ) -> #rt::Result<(#rt::String, #rt::MatchPolicy), #rt::ValueError> {
                let mut __open = false;
                let mut __parts: #rt::Vec<#rt::String> = #rt::Vec::with_capacity(#n);
                #(#to_subscription)*
                let __policy = if __open {
                    #rt::MatchPolicy::Wildcard
                } else {
                    #rt::MatchPolicy::Exact
                };
                #rt::Result::Ok((__parts.join("."), __policy))
            }

            fn key_of(__topic: &str) -> #rt::Result<#key, #rt::ValueError> {
                let __parts: #rt::Vec<&str> = ::core::iter::Iterator::collect(__topic.split('.'));
                if __parts.len() != #n {
                    return #rt::Result::Err(#rt::ValueError(::std::format!(
                        "topic {:?} does not fit the pattern {:?}", __topic, #pattern
                    )));
                }
                #rt::Result::Ok(#key {
                    #(#read_key)*
                })
            }

            #describe
        }

        impl #name {
            #[doc = #publish_doc]
            #vis fn publish(&self, session: &#rt::Session) -> #rt::Publish {
                #rt::publish_topic(self, session)
            }

            #[doc = #subscribe_doc]
            #vis fn subscribe(session: &#rt::Session, key: #key) -> #rt::TopicSubscribe<Self> {
                #rt::TopicSubscribe::new(session, key)
            }
        }

        const _: () = {
            fn __component<T: #rt::TopicComponent>() {}
            #[allow(dead_code)]
            fn __checks() {
                #(#checks)*
            }
        };
    }
}

/// `Topic::describe`: the pattern, its placeholders with their fields' schemas, and the
/// payload (named fields travel as kwargs, several unnamed ones as args).
fn describe(t: &TopicDef) -> TokenStream {
    let rt = quote!(::wamp_runtime::__private);
    let gen = quote!(__g);
    let name = t.item.ident.to_string();
    let pattern = &t.pattern;
    let description = crate::docs::optional(crate::docs::text(&t.item.attrs).as_deref());
    let placeholders = t.components.iter().enumerate().filter_map(|(i, c)| {
        let Component::Placeholder(p) = c else {
            return None;
        };
        let (_, ty) = t.field(p)?;
        let schema = crate::docs::schema(ty, &gen);
        Some(quote! {
            #rt::InterfacePlaceholder {
                name: ::core::convert::From::from(#p),
                component: #i,
                tail: false,
                schema: #schema,
            }
        })
    });
    let shape = match &t.item.fields {
        syn::Fields::Named(_) => quote!(#rt::InterfaceShape::Kwargs),
        syn::Fields::Unnamed(f) if f.unnamed.len() > 1 => quote!(#rt::InterfaceShape::Args),
        _ => quote!(#rt::InterfaceShape::Auto),
    };
    let this: syn::Type = syn::parse_quote!(Self);
    let payload = crate::docs::schema(&this, &gen);
    quote! {
        fn describe(__g: &mut #rt::SchemaGenerator) -> #rt::InterfaceTopic {
            #[allow(unused_imports)]
            use #rt::{HasSchema as _, NoSchema as _};
            let (__pattern, __match) = #rt::open_pattern(#pattern);
            #rt::InterfaceTopic {
                uri: ::core::convert::From::from(#pattern),
                pattern: __pattern,
                match_policy: __match,
                name: #rt::Option::Some(::core::convert::From::from(#name)),
                description: #description,
                placeholders: ::core::convert::From::from([#(#placeholders),*]),
                payload: #rt::InterfacePayload { shape: #shape, schema: #payload },
            }
        }
    }
}
