//! `#[service]`: parse the trait into a [`model::Service`], validate it, generate.

mod describe;
mod generate;
mod model;
mod validate;

use proc_macro2::TokenStream;
use quote::quote;

use crate::diag::Errors;

pub(crate) fn expand(attr: TokenStream, item: TokenStream) -> TokenStream {
    let mut trait_item: syn::ItemTrait = match syn::parse2(item.clone()) {
        Ok(t) => t,
        Err(_) => {
            let e = syn::Error::new_spanned(
                item,
                "#[service] goes on a trait: `#[service(prefix = \"com.example\")] pub trait Name { ... }`",
            );
            return e.to_compile_error();
        }
    };
    let mut errors = Errors::default();
    let service = model::Service::parse(attr, &mut trait_item, &mut errors);
    validate::check(&service, &mut errors);
    match errors.into_tokens() {
        // The trait as written (without our attributes), so that only our errors show.
        Some(errs) => quote! { #errs #trait_item },
        None => generate::service(&service),
    }
}
