//! Collecting errors, so that one compile reports every mistake at once. The collector
//! must be read ([`Errors::into_tokens`]) before it goes: one dropped unread would lose the
//! errors, so it panics instead (as serde_derive's context does), which fails the build
//! loudly rather than generating code from a model with mistakes in it.

use proc_macro2::TokenStream;

/// The errors found so far.
#[derive(Default)]
pub(crate) struct Errors {
    found: Option<syn::Error>,
    read: bool,
}

impl Errors {
    /// Adds an error at `tokens`.
    pub fn at(&mut self, tokens: impl quote::ToTokens, message: impl std::fmt::Display) {
        self.push(syn::Error::new_spanned(tokens, message));
    }

    /// Adds an error.
    pub fn push(&mut self, e: syn::Error) {
        match &mut self.found {
            Some(all) => all.combine(e),
            None => self.found = Some(e),
        }
    }

    /// The errors as `compile_error!` invocations, if there are any.
    pub fn into_tokens(mut self) -> Option<TokenStream> {
        self.read = true;
        self.found.take().map(|e| e.to_compile_error())
    }
}

impl Drop for Errors {
    fn drop(&mut self) {
        if !self.read && !std::thread::panicking() {
            panic!("wamp-macros: errors collected and never reported (a bug in the macro)");
        }
    }
}
