//! A type's JSON Schema as generated code asks for it: through `schemars` when the type
//! implements `JsonSchema`, and a placeholder naming the Rust type when it does not, so a
//! service whose types have no schema still has a description (its types then read as
//! "anything").

use std::marker::PhantomData;

use schemars::generate::SchemaSettings;
use schemars::{json_schema, JsonSchema, SchemaGenerator};

use super::format::Schema;
use crate::proto::Value;

/// The schema generator of one interface: JSON Schema draft 2020-12, shared definitions in
/// `$defs`, each type as a receiver reads it (serde's deserialize view).
pub fn generator() -> SchemaGenerator {
    SchemaSettings::draft2020_12()
        .with(|s| s.meta_schema = None)
        .into_generator()
}

/// Stands for type `T` when generated code asks for its schema:
/// `(&&Probe::<T>::new()).schema(generator)` finds [`HasSchema`] when `T: JsonSchema`,
/// else [`NoSchema`] (method resolution tries the reference first).
#[doc(hidden)]
pub struct Probe<T: ?Sized>(PhantomData<T>);

impl<T: ?Sized> Probe<T> {
    /// The probe of `T`.
    pub fn new() -> Self {
        Probe(PhantomData)
    }
}

impl<T: ?Sized> Default for Probe<T> {
    fn default() -> Self {
        Self::new()
    }
}

/// The schema of a type that implements `JsonSchema`.
#[doc(hidden)]
pub trait HasSchema {
    /// `T`'s schema (a reference into the generator's definitions for named types).
    fn schema(&self, generator: &mut SchemaGenerator) -> Schema;
}

impl<T: ?Sized + JsonSchema> HasSchema for &Probe<T> {
    fn schema(&self, generator: &mut SchemaGenerator) -> Schema {
        generator.subschema_for::<T>().to_value()
    }
}

/// The schema of a type that does not implement `JsonSchema`: any value, marked with the
/// Rust type's name under `x-rust-type`.
#[doc(hidden)]
pub trait NoSchema {
    /// A schema that accepts anything and names the type.
    fn schema(&self, generator: &mut SchemaGenerator) -> Schema;
}

impl<T: ?Sized> NoSchema for Probe<T> {
    fn schema(&self, _: &mut SchemaGenerator) -> Schema {
        untyped(std::any::type_name::<T>())
    }
}

/// The schema standing for a type without one.
pub fn untyped(rust_type: &str) -> Schema {
    json_schema!({ "x-rust-type": rust_type }).to_value()
}

/// The Rust type named by a schema that stands for a type without one.
pub fn untyped_name(schema: &Schema) -> Option<&str> {
    schema.get("x-rust-type")?.as_str()
}

/// Any WAMP value.
impl JsonSchema for Value {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Value".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> schemars::Schema {
        json_schema!(true)
    }
}
