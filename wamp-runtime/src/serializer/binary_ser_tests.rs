//! The bytes written straight from Rust values are those of `to_value` and encoding.

use std::collections::BTreeMap;

use proptest::prelude::*;
use serde::Serialize;

use super::{Binary, Top};
use crate::proto::{to_value, Value};

/// Both ways, for both binary serializers: direct bytes, and those through a `Value`.
fn both<T: Serialize + ?Sized>(value: &T) -> Vec<(Vec<u8>, Vec<u8>)> {
    [Binary::MsgPack, Binary::Cbor]
        .into_iter()
        .map(|bin| {
            let mut direct = Vec::new();
            let written = bin.write(value, &mut direct);
            assert!(written.is_ok(), "{:?}: {written:?}", bin.serializer());
            let mut through = Vec::new();
            let v = to_value(value).unwrap_or_default();
            let encoded = bin.serializer().encode_value(&v, &mut through);
            assert!(encoded.is_ok(), "{encoded:?}");
            (direct, through)
        })
        .collect()
}

fn same<T: Serialize + ?Sized>(value: &T) {
    for (direct, through) in both(value) {
        assert_eq!(direct, through);
    }
}

/// A byte string (what `serde_bytes` makes of a buffer).
struct Raw<'a>(&'a [u8]);

impl Serialize for Raw<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(self.0)
    }
}

#[derive(Serialize)]
struct Point {
    x: i32,
    y: f32,
    #[serde(skip_serializing_if = "Option::is_none")]
    label: Option<String>,
}

#[derive(Serialize)]
struct Flat {
    id: u64,
    #[serde(flatten)]
    extra: BTreeMap<String, bool>,
}

#[derive(Serialize)]
struct Meters(f64);

#[derive(Serialize)]
struct Nothing;

#[derive(Serialize)]
enum Shape {
    Empty,
    Circle(f64),
    Line(i8, i8),
    Rect { w: u16, h: u16 },
}

#[test]
fn scalars_strings_and_bytes() {
    same(&());
    same(&true);
    for i in [
        0i64, 1, -1, 31, -32, -33, 127, 128, -128, -129, 255, 256, 65_535, 65_536,
    ] {
        same(&i);
    }
    same(&i64::MIN);
    same(&u64::MAX);
    same(&(u64::MAX as i128));
    same(&(i64::MIN as i128));
    same(&7u128);
    same(&0.1f32);
    same(&-2.5e300f64);
    same(&'é');
    same(&"");
    same(&"x".repeat(40));
    same(&"y".repeat(70_000));
    same(&Raw(b"\x00\x01\xff"));
    same(&Raw(&[7; 300]));
    same(&None::<u8>);
    same(&Some(3u8));
}

#[test]
fn structs_enums_and_collections() {
    same(&Point {
        x: -4,
        y: 1.5,
        label: None,
    });
    same(&Point {
        x: 4,
        y: 0.0,
        label: Some("p".into()),
    });
    same(&Flat {
        id: 9,
        extra: [("a".to_owned(), true), ("b".to_owned(), false)].into(),
    });
    same(&Meters(3.0));
    same(&Nothing);
    same(&[Shape::Empty, Shape::Circle(1.0), Shape::Line(1, -1)]);
    same(&Shape::Rect { w: 2, h: 3 });
    same(&(1, "two", [3.0], ()));
    same(&Vec::<u8>::new());
    same(&(0..20).collect::<Vec<u32>>());
    same(&(0..70_000).map(|i| i % 3).collect::<Vec<u32>>());
    let by_number: BTreeMap<i32, &str> = [(-1, "minus"), (2, "two")].into();
    same(&by_number);
    let by_flag: BTreeMap<bool, u8> = [(false, 0), (true, 1)].into();
    same(&by_flag);
    let by_char: BTreeMap<char, u8> = [('a', 0)].into();
    same(&by_char);
    same(&Value::Dict(
        [("k".to_owned(), Value::List(vec![Value::Null]))]
            .into_iter()
            .collect(),
    ));
}

/// A list of unknown length of `n` items.
struct Seq(usize);

impl Serialize for Seq {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq((0..self.0 * 2).filter(|i| i % 2 == 0))
    }
}

/// A map of unknown length of `n` entries.
struct Map(usize);

impl Serialize for Map {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map((0..self.0 * 2).filter(|i| i % 2 == 0).map(|i| (i, i)))
    }
}

#[test]
fn lengths_not_known_ahead() {
    for n in [0, 1, 15, 16, 17, 23, 24, 255, 256, 65_535, 65_536] {
        same(&Seq(n));
        same(&Map(n));
    }
}

#[test]
fn what_the_top_is() {
    let top = |v: &dyn erased::Erased| {
        let mut out = Vec::new();
        v.write(Binary::MsgPack, &mut out)
    };
    assert_eq!(top(&()), Ok(Top::Null));
    assert_eq!(top(&None::<u8>), Ok(Top::Null));
    assert_eq!(top(&(1, 2)), Ok(Top::List { empty: false }));
    assert_eq!(top(&Vec::<u8>::new()), Ok(Top::List { empty: true }));
    assert_eq!(top(&Seq(0)), Ok(Top::List { empty: true }));
    assert_eq!(top(&Map(0)), Ok(Top::Map { empty: true }));
    assert_eq!(top(&Map(3)), Ok(Top::Map { empty: false }));
    assert_eq!(top(&Nothing), Ok(Top::Null));
    assert_eq!(top(&Meters(1.0)), Ok(Top::Other));
    assert_eq!(top(&"s"), Ok(Top::Other));
    assert_eq!(top(&Shape::Empty), Ok(Top::Other));
    assert_eq!(top(&Shape::Circle(1.0)), Ok(Top::Map { empty: false }));
}

/// `dyn`-callable writing, for the table above.
mod erased {
    use super::*;

    pub(super) trait Erased {
        fn write(&self, bin: Binary, out: &mut Vec<u8>) -> Result<Top, crate::proto::ValueError>;
    }

    impl<T: Serialize> Erased for T {
        fn write(&self, bin: Binary, out: &mut Vec<u8>) -> Result<Top, crate::proto::ValueError> {
            bin.write(self, out)
        }
    }
}

#[test]
fn refused_as_values_refuse_them() {
    let refused = |v: &dyn erased::Erased| {
        for bin in [Binary::MsgPack, Binary::Cbor] {
            let mut out = Vec::new();
            let direct = v.write(bin, &mut out).err().map(|e| e.0);
            assert!(direct.is_some(), "{:?} took it", bin.serializer());
        }
    };
    refused(&u128::MAX);
    refused(&(i64::MIN as i128 - 1));
    let by_list: BTreeMap<Vec<u8>, u8> = [(vec![1], 1)].into();
    refused(&by_list);
    let by_unit: BTreeMap<(), u8> = [((), 1)].into();
    refused(&by_unit);
    let mut deep = Value::Null;
    for _ in 0..200 {
        deep = Value::List(vec![deep]);
    }
    refused(&deep);
    // The same words as through a value.
    let mut out = Vec::new();
    let direct = Binary::Cbor.write(&by_list, &mut out).err().map(|e| e.0);
    let through = to_value(&by_list).err().map(|e| e.0);
    assert_eq!(direct, through);
}

/// A value of every serde shape `proptest` makes, nested.
fn tree() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::Int),
        any::<u64>().prop_map(Value::from_u64),
        any::<f64>().prop_map(Value::Float),
        ".{0,40}".prop_map(Value::Str),
        proptest::collection::vec(any::<u8>(), 0..40).prop_map(Value::Bytes),
    ];
    leaf.prop_recursive(4, 64, 20, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..20).prop_map(Value::List),
            proptest::collection::vec(("[a-z]{0,8}", inner), 0..20)
                .prop_map(|kv| Value::Dict(kv.into_iter().collect())),
        ]
    })
}

type Mixed = (
    i64,
    u64,
    f32,
    String,
    Option<i32>,
    Vec<(bool, char)>,
    BTreeMap<String, i16>,
);

proptest! {
    #[test]
    fn any_value_tree(v in tree()) {
        for (direct, through) in both(&v) {
            prop_assert_eq!(direct, through);
        }
    }

    #[test]
    fn any_mix_of_rust_types(v in any::<Mixed>()) {
        for (direct, through) in both(&v) {
            prop_assert_eq!(direct, through);
        }
    }
}
