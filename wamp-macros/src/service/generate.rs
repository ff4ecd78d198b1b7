//! The code a valid service becomes: the trait with `Send` futures and `register_on`,
//! the caller stub, and compile-time checks of the wire types.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Attribute, TraitItem};

use super::model::{Output, Procedure, Service};

/// The hidden module of `wamp-runtime` that generated code names everything through.
fn rt() -> TokenStream {
    quote!(::wamp_runtime::__private)
}

/// [`rt`] with the span of a user's type, so type errors point at that type.
fn rt_at(span: proc_macro2::Span) -> TokenStream {
    quote_spanned!(span=> ::wamp_runtime::__private)
}

/// A method's attributes named `name`: its docs and `#[deprecated]` carry over to its stub
/// method; what it generates exists under its `#[cfg(...)]`s.
fn named<'a>(attrs: &'a [Attribute], name: &str) -> Vec<&'a Attribute> {
    attrs.iter().filter(|a| a.path().is_ident(name)).collect()
}

pub(crate) fn service(s: &Service) -> TokenStream {
    let tr = trait_item(s);
    let client = client(s);
    let checks = checks(s);
    quote! { #tr #client #checks }
}

fn output_type(o: &Output) -> Option<TokenStream> {
    match o {
        Output::Unit => Some(quote!(())),
        Output::Result { ok, err } => Some(quote!(::core::result::Result<#ok, #err>)),
        Output::Plain(t) => Some(quote!(#t)),
        // A progressive procedure keeps the signature as written.
        Output::Stream { .. } => None,
    }
}

/// The trait, each `async fn` turned into a method returning a `Send` future, plus
/// `register_on`.
fn trait_item(s: &Service) -> TokenStream {
    let rt = rt();
    let mut item = s.item.clone();
    let prefix = s.prefix.as_ref().map(|(p, _)| p.as_str());
    for (ti, p) in item.items.iter_mut().zip(&s.procedures) {
        let TraitItem::Fn(f) = ti else { continue };
        let Some(out) = output_type(&p.output) else {
            continue;
        };
        f.sig.asyncness = None;
        f.sig.output = syn::parse_quote!(-> impl #rt::Future<Output = #out> + #rt::Send);
        if let Some(body) = &f.default {
            f.default = Some(syn::parse_quote!({ async move #body }));
        }
    }
    item.supertraits.push(syn::parse_quote!(#rt::Send));
    item.supertraits.push(syn::parse_quote!(#rt::Sync));
    item.supertraits.push(syn::parse_quote!('static));
    let registrations = s.procedures.iter().map(|p| registration(p, prefix));
    let client = format_ident!("{}Client", s.item.ident);
    let register_on: syn::TraitItemFn = syn::parse_quote! {
        /// Registers every procedure of this service, as implemented by `self`, on
        /// `session`, and hands the service's description to the router (see
        /// [`ServiceRegistration`](::wamp_runtime::ServiceRegistration)). Dropping the
        /// returned handle unregisters them all.
        #[allow(deprecated)]
        fn register_on(
            self,
            session: &#rt::Session,
        ) -> impl #rt::Future<Output = #rt::Result<#rt::ServiceRegistration, #rt::Error>> + #rt::Send
        where
            Self: #rt::Sized,
        {
            let __session = ::core::clone::Clone::clone(session);
            async move {
                let __this = #rt::Arc::new(self);
                let mut __registrations = #rt::Vec::new();
                #(#registrations)*
                #rt::ServiceRegistration::described(&__session, __registrations, #client::interface()).await
            }
        }
    };
    item.items.push(TraitItem::Fn(register_on));
    quote!(#item)
}

/// The arguments of a call to the implementation, the context in its place.
fn call_args(p: &Procedure) -> Vec<TokenStream> {
    let mut params = p.params.iter();
    (0..p.params.len() + usize::from(p.context.is_some()))
        .map(|i| {
            if Some(i) == p.context {
                quote!(__ctx)
            } else {
                let ident = params.next().map(|x| &x.ident);
                quote!(#ident)
            }
        })
        .collect()
}

/// One procedure's registration inside `register_on`.
fn registration(p: &Procedure, prefix: Option<&str>) -> TokenStream {
    let rt = rt();
    let uri = p.registered_uri(prefix).unwrap_or_default();
    let method = &p.ident;
    let mut positional = 0usize;
    let reads: Vec<TokenStream> = p
        .params
        .iter()
        .map(|param| {
            let ident = &param.ident;
            let ty = &param.ty;
            let name = &param.wire;
            let rt = rt_at(ty.span());
            if param.tail {
                quote_spanned!(ty.span()=> let #ident: #ty = #rt::uri_tail(&__ctx.procedure, #uri, #name)?;)
            } else if let Some(index) = param.placeholder {
                quote_spanned!(ty.span()=> let #ident: #ty = #rt::uri_param(&__ctx.procedure, #index, #name)?;)
            } else if param.kwarg {
                quote_spanned!(ty.span()=> let #ident: #ty = #rt::kwarg_param(&__args, #name)?;)
            } else {
                let i = positional;
                positional += 1;
                quote_spanned!(ty.span()=> let #ident: #ty = #rt::param(&__args, #i, #name)?;)
            }
        })
        .collect();
    let names = p
        .params
        .iter()
        .filter(|x| x.placeholder.is_none())
        .map(|x| x.wire.as_str());
    let extras = quote!(#rt::check_extras(&__args, #positional, &[#(#names),*])?;);
    let shape = result_shape(p);
    let args = call_args(p);
    let call = match &p.output {
        Output::Result { ok, .. } => {
            let rt = rt_at(ok.span());
            quote_spanned!(ok.span()=> #rt::reply(__this.#method(#(#args),*).await, #shape, &__progress))
        }
        Output::Plain(t) => {
            let rt = rt_at(t.span());
            quote_spanned! {t.span()=>
                #rt::reply(#rt::Result::<_, #rt::WampError>::Ok(__this.#method(#(#args),*).await), #shape, &__progress)
            }
        }
        Output::Unit => quote! {
            #rt::reply(#rt::Result::<_, #rt::WampError>::Ok(__this.#method(#(#args),*).await), #shape, &__progress)
        },
        Output::Stream { ok, .. } => {
            let rt = rt_at(ok.span());
            quote_spanned!(ok.span()=> #rt::drive_progressive(__this.#method(#(#args),*), &__progress).await)
        }
    };
    let mut options = Vec::new();
    if let Some((invoke, _)) = &p.options.invoke {
        options.push(quote!(.invoke(#invoke)));
    }
    match p.match_policy() {
        "prefix" => options.push(quote!(.match_policy(#rt::MatchPolicy::Prefix))),
        "wildcard" => options.push(quote!(.match_policy(#rt::MatchPolicy::Wildcard))),
        _ => {}
    }
    if p.options.disclose_caller.is_some() {
        options.push(quote!(.option("disclose_caller", true)));
    }
    if let Some((n, _)) = &p.options.concurrency {
        let n = u32::try_from(*n).unwrap_or(u32::MAX);
        options.push(quote!(.concurrency(#n)));
    }
    let cfgs = named(&p.method.attrs, "cfg");
    quote! {
        #(#cfgs)*
        let () = {
            let __this = ::core::clone::Clone::clone(&__this);
            let __registration = __session
                .register(#uri, move |__args: #rt::Incoming, __ctx: #rt::CallDetails, __progress: #rt::Progress| {
                    let __this = ::core::clone::Clone::clone(&__this);
                    async move {
                        #extras
                        #(#reads)*
                        #call
                    }
                })
                #(#options)*
                .await?;
            __registrations.push(__registration);
        };
    }
}

/// The procedure's `ResultShape`, as an expression.
fn result_shape(p: &Procedure) -> TokenStream {
    let rt = rt();
    match p.options.result.as_ref().map(|(s, _)| s.as_str()) {
        Some("args") => quote!(#rt::ResultShape::Args),
        Some("kwargs") => quote!(#rt::ResultShape::Kwargs),
        _ => quote!(#rt::ResultShape::Value),
    }
}

/// `<Trait>Client`: the typed caller stub.
fn client(s: &Service) -> TokenStream {
    let rt = rt();
    let vis = &s.item.vis;
    let trait_name = &s.item.ident;
    let name = format_ident!("{}Client", trait_name);
    let prefix = s.prefix.as_ref().map(|(p, _)| p.as_str());
    let doc = format!(
        "Calls the procedures of [`{trait_name}`] through a session: each method has the \
         procedure's argument and result types, so a call with the wrong types does not compile."
    );
    let methods = s.procedures.iter().map(|p| {
        let docs = named(&p.method.attrs, "doc");
        let method = &p.ident;
        let idents: Vec<_> = p.params.iter().map(|x| &x.ident).collect();
        let types: Vec<_> = p.params.iter().map(|x| &x.ty).collect();
        let pushes = p
            .params
            .iter()
            .filter(|x| x.placeholder.is_none())
            .map(|x| {
                let ident = &x.ident;
                let wire = &x.wire;
                if x.kwarg {
                    quote!(.kwarg(#wire, &#ident))
                } else {
                    quote!(.arg(&#ident))
                }
            });
        let shape = result_shape(p);
        let uri = p.uri(prefix).unwrap_or_default();
        let (uri_param, uri_build) = if p.is_pattern() {
            (
                quote!(procedure_uri: impl ::core::convert::Into<#rt::String>,),
                quote!(let __uri = #rt::Result::Ok(::core::convert::Into::into(procedure_uri));),
            )
        } else if let Some(tail) = p.params.iter().find(|x| x.tail) {
            // The prefix, then the tail.
            let registered = p.registered_uri(prefix).unwrap_or_default();
            let ident = &tail.ident;
            let rt_t = rt_at(tail.ty.span());
            (
                quote!(),
                quote_spanned!(tail.ty.span()=> let __uri = #rt_t::with_tail(#registered, &#ident);),
            )
        } else if p.has_placeholders() {
            // The concrete URI, each placeholder filled from its parameter.
            let parts =
                uri.split('.').enumerate().map(|(i, c)| {
                    match p.params.iter().find(|x| x.placeholder == Some(i)) {
                        Some(x) => {
                            let ident = &x.ident;
                            let name = &x.wire;
                            let rt = rt_at(x.ty.span());
                            quote_spanned!(x.ty.span()=> #rt::component(&#ident, #name))
                        }
                        None => quote!(#rt::Result::Ok(<#rt::String as ::core::convert::From<&str>>::from(#c))),
                    }
                });
            (
                quote!(),
                quote!(let __uri = #rt::join_components([#(#parts),*]);),
            )
        } else {
            (
                quote!(),
                quote!(let __uri = #rt::Result::Ok(<#rt::String as ::core::convert::From<&str>>::from(#uri));),
            )
        };
        let timeout =
            p.options.timeout_ms.as_ref().map(
                |(ms, _)| quote!(let __call = __call.timeout(#rt::Duration::from_millis(#ms));),
            );
        let (ret, make) = match &p.output {
            Output::Result { ok, err } => (
                quote!(#rt::ServiceCall<#ok, #err>),
                quote!(#rt::ServiceCall::new(__call).answer_as(#shape)),
            ),
            Output::Plain(t) => (
                quote!(#rt::ServiceCall<#t>),
                quote!(#rt::ServiceCall::new(__call).answer_as(#shape)),
            ),
            Output::Unit => (
                quote!(#rt::ServiceCall<()>),
                quote!(#rt::ServiceCall::new(__call).answer_as(#shape)),
            ),
            Output::Stream { ok, err, .. } => (
                quote!(#rt::ServiceStream<#ok, #err>),
                quote!(#rt::ServiceStream::new(__call)),
            ),
        };
        let calls_doc = if p.is_pattern() {
            format!(
                "Calls a procedure matching `{uri}`: `procedure_uri` is the concrete URI to call."
            )
        } else if p.has_placeholders() {
            format!("Calls `{uri}`, each placeholder filled from the argument of its name.")
        } else {
            format!("Calls `{uri}`.")
        };
        let pattern_doc = if docs.is_empty() {
            quote!(#[doc = #calls_doc])
        } else {
            quote!(#[doc = ""] #[doc = #calls_doc])
        };
        let cfgs = named(&p.method.attrs, "cfg");
        let deprecations = named(&p.method.attrs, "deprecated");
        quote! {
            #(#cfgs)*
            #(#docs)*
            #pattern_doc
            #(#deprecations)*
            #vis fn #method(&self, #uri_param #(#idents: #types),*) -> #ret {
                #uri_build
                let __call = #rt::StubArgs::on(&self.session) #(#pushes)* .call_at(&self.session, __uri);
                let __call = self.defaults.apply(__call);
                #timeout
                #make
            }
        }
    });
    let listed = s.procedures.iter().map(|p| {
        let uri = p.uri(prefix).unwrap_or_default();
        let cfgs = named(&p.method.attrs, "cfg");
        quote!(#(#cfgs)* let () = __uris.push(#uri);)
    });
    let topics = s.topics.iter().map(|t| {
        let rt = rt_at(t.span());
        quote_spanned!(t.span()=> <#t as #rt::Topic>::PATTERN)
    });
    let interface = super::describe::interface(s);
    quote! {
        #[doc = #doc]
        #[derive(Debug, Clone)]
        #vis struct #name {
            session: #rt::Session,
            defaults: #rt::CallDefaults,
        }

        impl #name {
            /// A stub that calls through `session`.
            #vis fn new(session: #rt::Session) -> Self {
                Self { session, defaults: #rt::Default::default() }
            }

            /// The session calls go through.
            #vis fn session(&self) -> &#rt::Session {
                &self.session
            }

            /// The URIs of the service's procedures (patterns for pattern procedures), in
            /// declaration order.
            #vis fn procedure_uris() -> #rt::Vec<&'static str> {
                let mut __uris = #rt::Vec::new();
                #(#listed)*
                __uris
            }

            /// The service's interface description: its procedures, the topics it names
            /// and the errors they answer with, with the JSON Schema of every type.
            #vis fn interface() -> #rt::Interface {
                #interface
            }

            /// The URI patterns of the topics the service names (`topics(...)`).
            #vis fn topic_patterns() -> #rt::Vec<&'static str> {
                ::core::convert::From::from([#(#topics),*])
            }

            /// Every call of this stub gives up after `timeout` unless the call says
            /// otherwise (a procedure's `timeout_ms` and a call's own `.timeout(…)` win).
            #vis fn timeout(mut self, timeout: #rt::Duration) -> Self {
                self.defaults.set_timeout(timeout);
                self
            }

            /// Every call of this stub asks the router to disclose the caller.
            #vis fn disclose_me(self) -> Self {
                self.option("disclose_me", true)
            }

            /// Every call of this stub carries CALL option `key`.
            #vis fn option(
                mut self,
                key: impl ::core::convert::Into<#rt::String>,
                value: impl ::core::convert::Into<#rt::Value>,
            ) -> Self {
                self.defaults.set_option(
                    ::core::convert::Into::into(key),
                    ::core::convert::Into::into(value),
                );
                self
            }

            #(#methods)*
        }
    }
}

/// Checks, at the user's types, that arguments and results travel (serde) and that
/// errors map to WAMP errors.
fn checks(s: &Service) -> TokenStream {
    let rt = rt();
    let mut lines = Vec::new();
    for p in &s.procedures {
        let mut own = Vec::new();
        for param in &p.params {
            let ty = &param.ty;
            own.push(quote_spanned!(ty.span()=> __wire::<#ty>();));
        }
        match &p.output {
            Output::Result { ok, err } | Output::Stream { ok, err, .. } => {
                own.push(quote_spanned!(ok.span()=> __wire::<#ok>();));
                // (`interface()` requires `ApplicationError`, at the same type.)
                own.push(quote_spanned!(err.span()=> __app_error::<#err>();));
            }
            Output::Plain(t) => own.push(quote_spanned!(t.span()=> __wire::<#t>();)),
            Output::Unit => {}
        }
        let cfgs = named(&p.method.attrs, "cfg");
        lines.push(quote!(#(#cfgs)* let () = { #(#own)* };));
    }
    quote! {
        const _: () = {
            fn __wire<T: #rt::serde::Serialize + #rt::serde::de::DeserializeOwned>() {}
            fn __app_error<E: ::core::convert::Into<#rt::WampError>>() {}
            #[allow(dead_code)]
            fn __checks() {
                #(#lines)*
            }
        };
    }
}
