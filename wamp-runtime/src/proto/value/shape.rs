//! What a serde type asks of a deserializer first, found without any data: a probe that
//! records the first `deserialize_*` call and stops there. Reading a WAMP `args` list as
//! a type uses it to tell a value that travels as one argument (`args = [5]` for a `u32`
//! or a newtype struct) from one that is the whole list (a tuple, a `Vec`).

use serde::de::{DeserializeOwned, Deserializer, Visitor};

use super::ValueError;

/// The first thing a type asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    /// A scalar: a number, a string, bytes, a boolean, a char.
    Scalar,
    /// A newtype struct, an `Option` or an enum: it depends on what they hold.
    Wrapper,
    /// Anything else: a sequence, a tuple, a map, a struct, or any value at all.
    Other,
}

/// The shape `T` asks for.
pub(crate) fn shape_of<T: DeserializeOwned>() -> Shape {
    let mut probe = Probe(Shape::Other);
    let _ = T::deserialize(&mut probe);
    probe.0
}

struct Probe(Shape);

/// Every `deserialize_*` method records `shape` and stops.
macro_rules! record {
    ($shape:expr => $($method:ident),* $(,)?) => {$(
        fn $method<V: Visitor<'de>>(self, _: V) -> Result<V::Value, ValueError> {
            self.0 = $shape;
            Err(ValueError(String::new()))
        }
    )*};
}

impl<'de> Deserializer<'de> for &mut Probe {
    type Error = ValueError;

    record!(Shape::Scalar =>
        deserialize_bool, deserialize_i8, deserialize_i16, deserialize_i32, deserialize_i64,
        deserialize_i128, deserialize_u8, deserialize_u16, deserialize_u32, deserialize_u64,
        deserialize_u128, deserialize_f32, deserialize_f64, deserialize_char, deserialize_str,
        deserialize_string, deserialize_bytes, deserialize_byte_buf,
    );
    record!(Shape::Wrapper => deserialize_option);
    record!(Shape::Other =>
        deserialize_any, deserialize_unit, deserialize_seq, deserialize_map,
        deserialize_identifier, deserialize_ignored_any,
    );

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: V,
    ) -> Result<V::Value, ValueError> {
        self.0 = Shape::Other;
        Err(ValueError(String::new()))
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: V,
    ) -> Result<V::Value, ValueError> {
        self.0 = Shape::Wrapper;
        Err(ValueError(String::new()))
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _: usize, _: V) -> Result<V::Value, ValueError> {
        self.0 = Shape::Other;
        Err(ValueError(String::new()))
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: usize,
        _: V,
    ) -> Result<V::Value, ValueError> {
        self.0 = Shape::Other;
        Err(ValueError(String::new()))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, ValueError> {
        self.0 = Shape::Other;
        Err(ValueError(String::new()))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, ValueError> {
        self.0 = Shape::Wrapper;
        Err(ValueError(String::new()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    #[allow(dead_code)]
    struct Newtype(u32);

    #[derive(serde::Deserialize)]
    #[allow(dead_code)]
    struct Point {
        x: i32,
    }

    #[test]
    fn types_show_their_shape() {
        assert_eq!(shape_of::<u32>(), Shape::Scalar);
        assert_eq!(shape_of::<String>(), Shape::Scalar);
        assert_eq!(shape_of::<Newtype>(), Shape::Wrapper);
        assert_eq!(shape_of::<Option<u32>>(), Shape::Wrapper);
        assert_eq!(shape_of::<(u32,)>(), Shape::Other);
        assert_eq!(shape_of::<Vec<u32>>(), Shape::Other);
        assert_eq!(shape_of::<Point>(), Shape::Other);
        assert_eq!(shape_of::<crate::proto::Value>(), Shape::Other);
    }
}
