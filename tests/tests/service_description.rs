//! The interface description `#[service]` generates: every part of the wire shape the
//! macro knows (placeholders, tails, keyword-only parameters, result shapes, progressive
//! results, options, deprecation, `#[cfg]`), and the schemas of types with and without
//! `JsonSchema`. The trait is only described here, never implemented.

#![allow(dead_code, clippy::expect_used)]

use futures_util::Stream;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use wamp_runtime::interface::{Match, Shape};
use wamp_runtime::{service, WampError};

/// A point on a plane.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
struct Point {
    /// Left to right.
    x: i64,
    /// Bottom to top.
    y: i64,
}

/// A type without a JSON Schema.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Opaque(String);

#[derive(Debug, Clone, WampError)]
enum ShapeError {
    /// Off the plane.
    #[wamp(uri = "com.example.shapes.off_plane")]
    OffPlane(Point),
    #[wamp(uri = "com.example.shapes.too_many")]
    TooMany {
        /// At most this many.
        limit: u32,
        hint: Option<String>,
    },
}

/// Shapes on a plane.
#[service(prefix = "com.example.shapes")]
trait Shapes {
    /// Moves a point.
    #[wamp(invoke = "roundrobin", timeout_ms = 1500)]
    async fn shift(
        &self,
        p: Point,
        dx: i64,
        #[wamp(kwarg)] dy: Option<i64>,
    ) -> Result<Point, ShapeError>;
    #[wamp(uri = "com.example.shapes.{layer}.draw", result = "kwargs")]
    async fn draw(&self, layer: u32, #[wamp(rename = "type")] kind: String) -> Point;
    #[wamp(uri = "com.example.shapes.files.{*path}")]
    async fn open(&self, path: String) -> Opaque;
    #[wamp(match = "prefix", result = "args")]
    async fn any(&self, ctx: wamp_runtime::CallContext, #[wamp(kwarg)] note: String) -> (i64, i64);
    #[wamp(progressive)]
    fn walk(&self, steps: u32) -> impl Stream<Item = Result<Point, ShapeError>> + Send;
    #[deprecated(note = "use shift")]
    async fn nudge(&self);
    #[cfg(any())]
    async fn hidden(&self);
}

#[test]
fn procedures_say_their_uri_match_and_policy() {
    let i = ShapesClient::interface();
    assert_eq!(i.name, "Shapes");
    assert_eq!(i.description.as_deref(), Some("Shapes on a plane."));
    assert_eq!(i.prefix.as_deref(), Some("com.example.shapes"));
    let uris: Vec<&str> = i.procedures.iter().map(|p| p.uri.as_str()).collect();
    assert_eq!(
        uris,
        [
            "com.example.shapes.shift",
            "com.example.shapes.{layer}.draw",
            "com.example.shapes.files.{*path}",
            "com.example.shapes.any",
            "com.example.shapes.walk",
            "com.example.shapes.nudge",
        ],
        "declaration order, #[cfg]-ed out ones left out"
    );
    let shift = &i.procedures[0];
    assert_eq!(shift.invoke.as_deref(), Some("roundrobin"));
    assert_eq!(shift.timeout_ms, Some(1500));
    assert_eq!(shift.description.as_deref(), Some("Moves a point."));
    assert_eq!(shift.match_policy, Match::Exact);
    let draw = i.procedure("com.example.shapes..draw").expect("by pattern");
    assert_eq!(draw.match_policy, Match::Wildcard);
    let open = i.procedure("com.example.shapes.files").expect("by pattern");
    assert_eq!(open.match_policy, Match::Prefix);
    assert!(open.placeholders[0].tail);
    assert_eq!(open.placeholders[0].component, 4);
    assert_eq!(i.procedures[3].match_policy, Match::Prefix);
    assert_eq!(i.procedures[5].deprecated.as_deref(), Some("use shift"));
}

#[test]
fn parameters_say_how_they_travel() {
    let i = ShapesClient::interface();
    let shift = &i.procedures[0];
    let args: Vec<(&str, bool)> = shift
        .args
        .iter()
        .map(|a| (a.name.as_str(), a.required))
        .collect();
    assert_eq!(args, [("p", true), ("dx", true)]);
    assert_eq!(shift.args[0].schema["$ref"], "#/$defs/Point");
    assert_eq!(shift.kwargs.len(), 1);
    assert_eq!(shift.kwargs[0].name, "dy");
    assert!(!shift.kwargs[0].required, "an Option may be left out");
    let draw = &i.procedures[1];
    assert_eq!(draw.placeholders[0].name, "layer");
    assert_eq!(draw.placeholders[0].component, 3);
    assert_eq!(draw.placeholders[0].schema["type"], "integer");
    assert_eq!(draw.args[0].name, "type", "the wire name, renamed");
    assert_eq!(i.procedures[3].kwargs[0].name, "note");
    assert!(i.procedures[3].args.is_empty());
}

#[test]
fn results_say_their_shape() {
    let i = ShapesClient::interface();
    assert_eq!(i.procedures[0].result.shape, Shape::Value);
    assert_eq!(i.procedures[1].result.shape, Shape::Kwargs);
    assert_eq!(i.procedures[3].result.shape, Shape::Args);
    assert_eq!(i.procedures[3].result.schema["type"], "array");
    let walk = &i.procedures[4];
    assert!(walk.progressive);
    assert_eq!(walk.result.schema["$ref"], "#/$defs/Point");
    assert_eq!(i.procedures[5].result.schema["type"], "null");
}

#[test]
fn a_type_without_a_schema_is_named_and_accepts_anything() {
    let i = ShapesClient::interface();
    let open = &i.procedures[2];
    let named = wamp_runtime::interface::untyped_name(&open.result.schema);
    assert!(
        named.is_some_and(|n| n.ends_with("Opaque")),
        "{}",
        open.result.schema
    );
}

#[test]
fn errors_are_described_once_with_their_fields() {
    let i = ShapesClient::interface();
    assert_eq!(
        i.procedures[0].errors,
        [
            "com.example.shapes.off_plane",
            "com.example.shapes.too_many"
        ]
    );
    assert_eq!(i.procedures[4].errors, i.procedures[0].errors);
    assert_eq!(i.errors.len(), 2, "each error once");
    let off = i.error("com.example.shapes.off_plane").expect("described");
    assert_eq!(off.name.as_deref(), Some("ShapeError::OffPlane"));
    assert_eq!(off.description.as_deref(), Some("Off the plane."));
    assert_eq!(off.args[0].schema["$ref"], "#/$defs/Point");
    let many = i.error("com.example.shapes.too_many").expect("described");
    assert_eq!(many.kwargs[0].name, "limit");
    assert_eq!(
        many.kwargs[0].description.as_deref(),
        Some("At most this many.")
    );
    assert!(!many.kwargs[1].required);
    let point = &i.defs["Point"];
    assert_eq!(point["description"], "A point on a plane.");
    assert_eq!(point["properties"]["x"]["description"], "Left to right.");
}
