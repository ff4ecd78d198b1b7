//! `#[topic("...")]`: parse the struct and its URI pattern into a [`model::TopicDef`],
//! validate it, generate the key type and the publish/subscribe methods.

mod generate;
mod model;
mod validate;

use proc_macro2::TokenStream;
use quote::quote;

use crate::diag::Errors;

pub(crate) fn expand(attr: TokenStream, item: TokenStream) -> TokenStream {
    let item_struct: syn::ItemStruct = match syn::parse2(item.clone()) {
        Ok(s) => s,
        Err(_) => {
            return syn::Error::new_spanned(
                item,
                "#[topic(\"com.example.{field}.name\")] goes on a struct (with serde's Serialize and Deserialize)",
            )
            .to_compile_error()
        }
    };
    let mut errors = Errors::default();
    let def = model::TopicDef::parse(attr, item_struct, &mut errors);
    if let Some(def) = &def {
        validate::check(def, &mut errors);
    }
    match (errors.into_tokens(), def) {
        (None, Some(def)) => generate::topic(&def),
        (errs, def) => {
            let item = def.map(|d| d.item);
            quote! { #errs #item }
        }
    }
}
