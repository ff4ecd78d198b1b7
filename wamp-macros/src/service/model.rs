//! The service as the macro understands it, read from the trait and its attributes.

use proc_macro2::{Span, TokenStream};
use syn::{FnArg, Ident, Pat, ReturnType, TraitItem, TraitItemFn, Type};

use crate::attrs::{self, Item};
use crate::diag::Errors;

/// A `#[service]` trait.
pub(crate) struct Service {
    /// The trait as written, with our attributes removed.
    pub item: syn::ItemTrait,
    pub prefix: Option<(String, Span)>,
    /// The topic types the service names (`topics(Temperature, Alarm)`).
    pub topics: Vec<syn::Path>,
    pub procedures: Vec<Procedure>,
}

/// One method of the trait.
pub(crate) struct Procedure {
    pub method: TraitItemFn,
    pub ident: Ident,
    pub receiver: Receiver,
    /// The parameters after the receiver, the call context excluded.
    pub params: Vec<Param>,
    /// Where the `CallContext` parameter is, among all parameters after the receiver.
    pub context: Option<usize>,
    pub output: Output,
    pub options: Options,
}

pub(crate) enum Receiver {
    /// `&self`: what a procedure must take.
    Ref,
    /// `self`, `mut self`, `self: Box<Self>`…
    Other(TokenStream),
    /// `&mut self`.
    Mut(TokenStream),
    None,
}

pub(crate) struct Param {
    pub ident: Ident,
    pub ty: Type,
    /// The name it travels under as a keyword argument: its own (a raw identifier
    /// unraw: `r#type` is `type`), or its `rename`.
    pub wire: String,
    /// Whether it travels only as a keyword argument (`#[wamp(kwarg)]`, or the method's
    /// `#[wamp(kwargs)]`), not as a positional one.
    pub kwarg: bool,
    /// The component of the URI it fills, for a `{name}` placeholder of the procedure's URI
    /// (then it travels in the URI, not as an argument).
    pub placeholder: Option<usize>,
    /// Whether that placeholder is the URI's tail (`{*name}`: every component from there
    /// on, a prefix registration).
    pub tail: bool,
    /// Whether `rename` or `kwarg` was written on it.
    pub shaped: bool,
}

// Built once per procedure at compile time: size does not matter.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Output {
    /// No return type.
    Unit,
    /// `Result<T, E>`: E is the procedure's application error.
    Result { ok: Type, err: Type },
    /// Any other type: the procedure cannot fail.
    Plain(Type),
    /// `impl Stream<Item = Result<T, E>> + Send`: a progressive procedure.
    Stream { ok: Type, err: Type, send: bool },
}

/// The `#[wamp(...)]` options of a procedure.
#[derive(Default)]
pub(crate) struct Options {
    pub uri: Option<(String, Span)>,
    pub invoke: Option<(String, Span)>,
    pub match_policy: Option<(String, Span)>,
    pub disclose_caller: Option<Span>,
    pub timeout_ms: Option<(u64, Span)>,
    /// How many invocations the callee takes at once (`concurrency`).
    pub concurrency: Option<(u64, Span)>,
    pub progressive: Option<Span>,
    /// Every parameter travels as a keyword argument.
    pub kwargs: Option<Span>,
    /// How the result travels: `"args"` or `"kwargs"` (default: one argument).
    pub result: Option<(String, Span)>,
}

impl Service {
    pub fn parse(attr: TokenStream, item: &mut syn::ItemTrait, errors: &mut Errors) -> Service {
        let mut prefix = None;
        let mut topics = Vec::new();
        match attrs::parse_items(attr) {
            Ok(items) => {
                let options = &["prefix", "topics"];
                for i in attrs::allowed(items, options, "service option", errors) {
                    let read = if i.name() == "topics" {
                        i.paths().map(|p| topics = p.to_vec())
                    } else {
                        i.string().map(|p| prefix = Some(p))
                    };
                    if let Err(e) = read {
                        errors.push(e);
                    }
                }
            }
            Err(e) => errors.push(e),
        }
        let mut procedures = Vec::new();
        for ti in &mut item.items {
            match ti {
                TraitItem::Fn(f) => {
                    if let Some(p) = Procedure::parse(f, errors) {
                        procedures.push(p);
                    }
                }
                other => errors.at(
                    other,
                    "a service trait holds only procedures (`async fn name(&self, ...)`)",
                ),
            }
        }
        Service {
            item: item.clone(),
            prefix,
            topics,
            procedures,
        }
    }
}

/// Whether `ty` names the call context (`CallContext` or `CallDetails`, by any path).
fn is_context(ty: &Type) -> bool {
    match ty {
        Type::Path(p) => p
            .path
            .segments
            .last()
            .is_some_and(|s| s.ident == "CallContext" || s.ident == "CallDetails"),
        _ => false,
    }
}

/// `T` and `E` of `Result<T, E>`.
fn result_parts(ty: &Type) -> Option<(Type, Type)> {
    let Type::Path(p) = ty else { return None };
    let last = p.path.segments.last()?;
    if last.ident != "Result" {
        return None;
    }
    let syn::PathArguments::AngleBracketed(a) = &last.arguments else {
        return None;
    };
    let types: Vec<&Type> = a
        .args
        .iter()
        .filter_map(|g| match g {
            syn::GenericArgument::Type(t) => Some(t),
            _ => None,
        })
        .collect();
    match types.as_slice() {
        [ok, err] => Some(((*ok).clone(), (*err).clone())),
        _ => None,
    }
}

/// `impl Stream<Item = Result<T, E>> (+ Send)`: its `T`, `E`, and whether it is `Send`.
fn stream_parts(ty: &Type) -> Option<(Type, Type, bool)> {
    let Type::ImplTrait(it) = ty else { return None };
    let mut item = None;
    let mut send = false;
    for b in &it.bounds {
        let syn::TypeParamBound::Trait(tb) = b else {
            continue;
        };
        let Some(last) = tb.path.segments.last() else {
            continue;
        };
        if last.ident == "Send" {
            send = true;
        }
        if last.ident == "Stream" {
            if let syn::PathArguments::AngleBracketed(a) = &last.arguments {
                for g in &a.args {
                    if let syn::GenericArgument::AssocType(at) = g {
                        if at.ident == "Item" {
                            item = Some(at.ty.clone());
                        }
                    }
                }
            }
        }
    }
    let (ok, err) = result_parts(&item?)?;
    Some((ok, err, send))
}

fn parse_output(ret: &ReturnType) -> Output {
    let ty = match ret {
        ReturnType::Default => return Output::Unit,
        ReturnType::Type(_, ty) => ty.as_ref(),
    };
    if let Some((ok, err, send)) = stream_parts(ty) {
        return Output::Stream { ok, err, send };
    }
    if let Type::Path(p) = ty {
        if let Some(last) = p.path.segments.last() {
            if last.ident == "Result" {
                if let syn::PathArguments::AngleBracketed(a) = &last.arguments {
                    let types: Vec<&Type> = a
                        .args
                        .iter()
                        .filter_map(|g| match g {
                            syn::GenericArgument::Type(t) => Some(t),
                            _ => None,
                        })
                        .collect();
                    if let [ok, err] = types.as_slice() {
                        return Output::Result {
                            ok: (*ok).clone(),
                            err: (*err).clone(),
                        };
                    }
                }
            }
        }
    }
    Output::Plain(ty.clone())
}

impl Procedure {
    fn parse(f: &mut TraitItemFn, errors: &mut Errors) -> Option<Procedure> {
        let options = match attrs::take_wamp(&mut f.attrs) {
            Ok(items) => Options::from_items(items, errors),
            Err(e) => {
                errors.push(e);
                Options::default()
            }
        };
        let mut receiver = Receiver::None;
        let mut params = Vec::new();
        let mut context = None;
        let mut position = 0;
        let all_kwargs = options.kwargs.is_some();
        for input in &mut f.sig.inputs {
            match input {
                FnArg::Receiver(r) => {
                    receiver = if r.colon_token.is_some() || r.reference.is_none() {
                        Receiver::Other(quote::quote!(#r))
                    } else if r.mutability.is_some() {
                        Receiver::Mut(quote::quote!(#r))
                    } else {
                        Receiver::Ref
                    };
                }
                FnArg::Typed(pt) => {
                    let ident = match pt.pat.as_ref() {
                        Pat::Ident(pi) if pi.by_ref.is_none() && pi.subpat.is_none() => {
                            pi.ident.clone()
                        }
                        other => {
                            errors.at(
                                other,
                                "procedure parameters are plain names (they are also the keyword-argument names): write `name: Type`",
                            );
                            continue;
                        }
                    };
                    let (rename, kwarg) = param_attrs(&mut pt.attrs, errors);
                    let shaped = rename.is_some() || kwarg;
                    if is_context(&pt.ty) {
                        if context.is_some() {
                            errors.at(&pt.ty, "only one `CallContext` parameter is allowed");
                        }
                        context = Some(position);
                    } else {
                        use syn::ext::IdentExt;
                        params.push(Param {
                            wire: rename.unwrap_or_else(|| ident.unraw().to_string()),
                            ident,
                            ty: (*pt.ty).clone(),
                            kwarg: kwarg || all_kwargs,
                            placeholder: None,
                            tail: false,
                            shaped,
                        });
                    }
                    position += 1;
                }
            }
        }
        if let Some((uri, _)) = &options.uri {
            for (index, name, tail) in placeholders(uri) {
                use syn::ext::IdentExt;
                if let Some(p) = params.iter_mut().find(|p| p.ident.unraw() == name) {
                    p.placeholder = Some(index);
                    p.tail = tail;
                    p.kwarg = false;
                }
            }
        }
        Some(Procedure {
            ident: f.sig.ident.clone(),
            output: parse_output(&f.sig.output),
            method: f.clone(),
            receiver,
            params,
            context,
            options,
        })
    }
}

/// A parameter's `#[wamp(rename = "...", kwarg)]`, taken off it.
fn param_attrs(attrs: &mut Vec<syn::Attribute>, errors: &mut Errors) -> (Option<String>, bool) {
    let (mut rename, mut kwarg) = (None, false);
    match attrs::take_wamp(attrs) {
        Ok(items) => {
            for i in attrs::allowed(items, &["rename", "kwarg"], "parameter option", errors) {
                let read = if i.name() == "rename" {
                    i.string().map(|(name, span)| {
                        if crate::uri::problem(&format!("x.{name}")).is_some() || name.is_empty() {
                            errors.push(syn::Error::new(
                                span,
                                format!("{name:?} cannot be a keyword argument's name"),
                            ));
                        }
                        rename = Some(name);
                    })
                } else {
                    i.flag().map(|_| kwarg = true)
                };
                if let Err(e) = read {
                    errors.push(e);
                }
            }
        }
        Err(e) => errors.push(e),
    }
    (rename, kwarg)
}

impl Options {
    fn from_items(items: Vec<Item>, errors: &mut Errors) -> Options {
        let mut o = Options::default();
        let keys = [
            "uri",
            "invoke",
            "match",
            "disclose_caller",
            "timeout_ms",
            "concurrency",
            "progressive",
            "kwargs",
            "result",
        ];
        for i in attrs::allowed(items, &keys, "procedure option", errors) {
            let r = match i.name().as_str() {
                "uri" => i.string().map(|v| o.uri = Some(v)),
                "invoke" => i.string().map(|v| o.invoke = Some(v)),
                "match" => i.string().map(|v| o.match_policy = Some(v)),
                "disclose_caller" => i.flag().map(|s| o.disclose_caller = Some(s)),
                "timeout_ms" => i.integer().map(|v| o.timeout_ms = Some(v)),
                "concurrency" => i.integer().map(|v| o.concurrency = Some(v)),
                "kwargs" => i.flag().map(|s| o.kwargs = Some(s)),
                "result" => i.string().map(|v| o.result = Some(v)),
                _ => i.flag().map(|s| o.progressive = Some(s)),
            };
            if let Err(e) = r {
                errors.push(e);
            }
        }
        o
    }
}

impl Procedure {
    /// The procedure's URI as written: its `uri` option (maybe with `{placeholders}`),
    /// else the prefix and the method name.
    pub fn uri(&self, prefix: Option<&str>) -> Option<String> {
        use syn::ext::IdentExt;
        match (&self.options.uri, prefix) {
            (Some((u, _)), _) => Some(u.clone()),
            (None, Some(p)) => Some(format!("{p}.{}", self.ident.unraw())),
            (None, None) => None,
        }
    }

    /// The URI as registered: each `{placeholder}` an empty component of a wildcard
    /// pattern.
    /// With a tail (`{*name}`), the components before it: a prefix pattern.
    pub fn registered_uri(&self, prefix: Option<&str>) -> Option<String> {
        let uri = self.uri(prefix)?;
        let parts: Vec<&str> = uri
            .split('.')
            .take_while(|c| !is_tail(c))
            .map(|c| if is_placeholder(c) { "" } else { c })
            .collect();
        Some(parts.join("."))
    }

    /// Whether the URI ends in a tail placeholder (`{*name}`): a prefix registration.
    pub fn has_tail(&self) -> bool {
        self.options
            .uri
            .as_ref()
            .is_some_and(|(u, _)| u.split('.').any(is_tail))
    }

    /// Whether the URI has `{placeholders}` filled by parameters.
    pub fn has_placeholders(&self) -> bool {
        self.params.iter().any(|p| p.placeholder.is_some())
            || self
                .options
                .uri
                .as_ref()
                .is_some_and(|(u, _)| !placeholders(u).is_empty())
    }

    /// How the registered URI is matched: the `match` option, else `prefix` for a tail,
    /// `wildcard` for placeholders, `exact` otherwise.
    pub fn match_policy(&self) -> &'static str {
        match self.options.match_policy.as_ref().map(|(m, _)| m.as_str()) {
            Some("prefix") => "prefix",
            Some("wildcard") => "wildcard",
            _ if self.has_tail() => "prefix",
            _ if self.has_placeholders() => "wildcard",
            _ => "exact",
        }
    }

    /// Whether the procedure is registered with a prefix or wildcard pattern, and called
    /// through a stub with the concrete URI as its first argument (`match = ...`).
    pub fn is_pattern(&self) -> bool {
        self.options
            .match_policy
            .as_ref()
            .is_some_and(|(m, _)| m != "exact")
    }
}

/// Whether a URI component is a `{placeholder}`.
pub(crate) fn is_placeholder(component: &str) -> bool {
    component.len() > 2 && component.starts_with('{') && component.ends_with('}')
}

/// Whether a URI component is a tail placeholder, `{*name}`.
pub(crate) fn is_tail(component: &str) -> bool {
    is_placeholder(component) && component.starts_with("{*")
}

/// The `{placeholders}` of a URI: each component's index and name, and whether it is the
/// tail (`{*name}`).
pub(crate) fn placeholders(uri: &str) -> Vec<(usize, String, bool)> {
    uri.split('.')
        .enumerate()
        .filter(|(_, c)| is_placeholder(c))
        .map(|(i, c)| {
            let name = &c[1..c.len() - 1];
            (i, name.trim_start_matches('*').to_owned(), is_tail(c))
        })
        .collect()
}
