//! A class per topic: `TemperatureTopic.publish(session, value)` to the URI its
//! placeholders make, and `TemperatureTopic.subscribe(session, handler, key)` with some
//! placeholders fixed and the others open.

use serde_json::Value as Json;

use super::types::{doc, ident, pascal, ts_type, uri_template};

pub fn generate(t: &Json) -> String {
    let Some(uri) = t["uri"].as_str() else {
        return String::new();
    };
    let base = match t["name"].as_str() {
        Some(n) => ident(n),
        None => pascal(&uri.replace(['{', '}'], "")),
    };
    let class = format!("{base}Topic");
    let payload = ts_type(&t["payload"]["schema"]);
    let placeholders: Vec<(String, String)> = t["placeholders"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| Some((p["name"].as_str()?.to_owned(), ts_type(&p["schema"]))))
        .collect();
    let (args, kwargs, read) = match t["payload"]["shape"].as_str() {
        Some("kwargs") => (
            "[]".to_owned(),
            "value as unknown as Record<string, unknown>".to_owned(),
            format!("_kwargs as unknown as {payload}"),
        ),
        Some("args") => (
            "value as unknown as unknown[]".to_owned(),
            "{}".to_owned(),
            format!("_args as unknown as {payload}"),
        ),
        _ => (
            "[value]".to_owned(),
            "{}".to_owned(),
            format!("(_args.length === 0 ? _kwargs : _args[0]) as {payload}"),
        ),
    };
    let publish_uri = uri_template(uri, |name, _| {
        format!("component(value.{}, {:?})", ident(name), name)
    });
    let subscribe_uri = uri_template(uri, |name, _| {
        let key = ident(name);
        format!("key.{key} === undefined ? \"\" : component(key.{key}, {name:?})")
    });
    let key_type = if placeholders.is_empty() {
        "Record<string, never>".to_owned()
    } else {
        let fields: Vec<String> = placeholders
            .iter()
            .map(|(n, ty)| format!("{}?: {ty}", ident(n)))
            .collect();
        format!("{{ {} }}", fields.join("; "))
    };
    let open = if placeholders.is_empty() {
        "false".to_owned()
    } else {
        let tests: Vec<String> = placeholders
            .iter()
            .map(|(n, _)| format!("key.{} === undefined", ident(n)))
            .collect();
        tests.join(" || ")
    };
    let mut out = String::from("\n");
    let text = t["description"]
        .as_str()
        .map(|d| format!("{d}\n\nTopic `{uri}`."))
        .unwrap_or_else(|| format!("Topic `{uri}`."));
    out.push_str(&doc(Some(&text), ""));
    out.push_str(&format!("export class {class} {{\n"));
    out.push_str(&format!(
        "  static readonly URI = {};\n\n",
        Json::String(uri.into())
    ));
    out.push_str(
        "  /** Publishes `value`, the placeholders filled from its fields; acknowledged unless\n   * `options` say `acknowledge: false`. */\n",
    );
    out.push_str(&format!(
        "  static publish(session: WampSession, value: {payload}, options: Record<string, unknown> = {{}}): Promise<void> {{\n    return publishTo(session, {publish_uri}, {args}, {kwargs}, options);\n  }}\n\n"
    ));
    out.push_str(
        "  /** Subscribes: `key` fixes some placeholders, the others are open (a wildcard\n   * subscription); `handler` gets each event's value and its concrete topic. */\n",
    );
    out.push_str(&format!(
        "  static subscribe(\n    session: WampSession,\n    handler: (value: {payload}, topic: string) => void,\n    key: {key_type} = {{}},\n  ): PromiseLike<unknown> {{\n    const uri = {subscribe_uri};\n    const open = {open};\n    return session.subscribe(\n      uri,\n      (_args, _kwargs, details) => handler({read}, details?.topic ?? uri),\n      open ? {{ match: \"wildcard\" }} : {{}},\n    );\n  }}\n}}\n"
    ));
    out
}
