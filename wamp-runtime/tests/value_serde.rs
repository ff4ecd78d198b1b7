//! Rust types to and from `Value` through serde.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use wamp_runtime::dict;
use wamp_runtime::proto::{from_value, to_value, Dict, Value};

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Reading {
    room: String,
    celsius: f64,
    tags: Vec<String>,
    note: Option<String>,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
enum Shape {
    Empty,
    Circle(f64),
    Rect(u32, u32),
    Named { name: String },
}

fn round<T: Serialize + for<'de> Deserialize<'de> + PartialEq + std::fmt::Debug>(v: T) {
    let value = to_value(&v).expect("to value");
    let back: T = from_value(value.clone()).expect("from value");
    assert_eq!(back, v, "through {value:?}");
}

#[test]
fn structs_are_dicts_and_tuples_are_lists() {
    let r = Reading {
        room: "kitchen".into(),
        celsius: 21.5,
        tags: vec!["a".into()],
        note: None,
    };
    assert_eq!(
        to_value(&r).unwrap(),
        Value::Dict(dict! {
            "room" => "kitchen", "celsius" => 21.5,
            "tags" => vec![Value::from("a")], "note" => Value::Null,
        })
    );
    round(r);
    assert_eq!(
        to_value(&(1, "two", 3.0)).unwrap(),
        Value::List(vec![1.into(), "two".into(), 3.0.into()])
    );
    round((1u8, -2i64, u64::MAX, true, 'x', String::from("s")));
    round(());
    round(Some(3));
    round(None::<i32>);
}

#[test]
fn enums_are_externally_tagged() {
    assert_eq!(to_value(&Shape::Empty).unwrap(), Value::from("Empty"));
    assert_eq!(
        to_value(&Shape::Circle(1.5)).unwrap(),
        Value::Dict(dict! { "Circle" => 1.5 })
    );
    for s in [
        Shape::Empty,
        Shape::Circle(2.0),
        Shape::Rect(3, 4),
        Shape::Named { name: "n".into() },
    ] {
        round(s);
    }
}

#[test]
fn bytes_and_maps() {
    let v = Value::Bytes(vec![0, 1, 255]);
    assert_eq!(to_value(&v).unwrap(), v);
    let as_vec: Vec<u8> = from_value(v.clone()).unwrap();
    assert_eq!(as_vec, vec![0, 1, 255]);
    let mut m = BTreeMap::new();
    m.insert(7, "seven");
    assert_eq!(to_value(&m).unwrap(), Value::Dict(dict! { "7" => "seven" }));
    let d: Dict = from_value(Value::Dict(dict! { "a" => 1 })).unwrap();
    assert_eq!(d.get("a"), Some(&Value::Int(1)));
}

#[test]
fn wrong_types_are_errors() {
    let e = from_value::<(i64, i64)>(Value::List(vec!["x".into(), 1.into()])).unwrap_err();
    assert!(e.to_string().contains("string"), "{e}");
    assert!(from_value::<Reading>(Value::Dict(dict! { "room" => "r" })).is_err());
    assert!(from_value::<u8>(Value::Int(300)).is_err());
    assert!(to_value(&BTreeMap::from([(vec![1], 1)])).is_err());
}
