//! JSON Schema as TypeScript types, and the names and comments of generated code.
//!
//! 64-bit integers (`format` `int64`, `uint64`) become `number`: exact up to 2^53 - 1,
//! which is what Autobahn|JS decodes JSON and MessagePack integers to.

use serde_json::{Map, Value as Json};

/// Words TypeScript does not take as a parameter or class name.
const RESERVED: [&str; 40] = [
    "break",
    "case",
    "catch",
    "class",
    "const",
    "continue",
    "debugger",
    "default",
    "delete",
    "do",
    "else",
    "enum",
    "export",
    "extends",
    "false",
    "finally",
    "for",
    "function",
    "if",
    "import",
    "in",
    "instanceof",
    "new",
    "null",
    "return",
    "super",
    "switch",
    "this",
    "throw",
    "true",
    "try",
    "typeof",
    "var",
    "void",
    "while",
    "with",
    "yield",
    "let",
    "static",
    "implements",
];

/// `name` as a TypeScript identifier: other characters become `_`, a reserved word gets
/// a `_` after it.
pub fn ident(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '$' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    if RESERVED.contains(&out.as_str()) {
        out.push('_');
    }
    out
}

/// A method name: reserved words may be one (`switch`), `constructor` may not.
pub fn member(name: &str) -> String {
    match name.strip_suffix('_') {
        Some(word) if RESERVED.contains(&word) => word.to_owned(),
        _ if name == "constructor" => "constructor_".to_owned(),
        _ => name.to_owned(),
    }
}

/// `snake_case` as `camelCase`.
pub fn camel(name: &str) -> String {
    let mut out = String::new();
    let mut upper = false;
    for c in name.chars() {
        if c == '_' && !out.is_empty() {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    ident(&out)
}

/// `snake_case` or `a.b.c` as `PascalCase`.
pub fn pascal(name: &str) -> String {
    let camel = camel(&name.replace(['.', '-'], "_"));
    let mut chars = camel.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => camel,
    }
}

/// A property name: as it is when it is an identifier, else quoted.
fn property(name: &str) -> String {
    let plain = !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$');
    if plain {
        name.to_owned()
    } else {
        Json::String(name.to_owned()).to_string()
    }
}

/// A URI with `{placeholders}` as a TypeScript expression: a template literal whose
/// placeholders are `fill(name, tail)` (`tail` for a `{*name}`), or a plain string when it
/// has none.
pub fn uri_template(uri: &str, fill: impl Fn(&str, bool) -> String) -> String {
    let mut filled = false;
    let parts: Vec<String> = uri
        .split('.')
        .map(
            |c| match c.strip_prefix('{').and_then(|c| c.strip_suffix('}')) {
                Some(name) => {
                    filled = true;
                    match name.strip_prefix('*') {
                        Some(tail) => format!("${{{}}}", fill(tail, true)),
                        None => format!("${{{}}}", fill(name, false)),
                    }
                }
                None => c.replace('`', "\\`").replace("${", "\\${"),
            },
        )
        .collect();
    if filled {
        format!("`{}`", parts.join("."))
    } else {
        Json::String(uri.to_owned()).to_string()
    }
}

/// A doc comment (`/** ... */`) at `indent`, or nothing for no text.
pub fn doc(text: Option<&str>, indent: &str) -> String {
    let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else {
        return String::new();
    };
    let text = text.replace("*/", "*\\/");
    let lines: Vec<&str> = text.lines().collect();
    if lines.len() == 1 {
        return format!("{indent}/** {} */\n", lines[0]);
    }
    let mut out = format!("{indent}/**\n");
    for l in lines {
        out.push_str(&format!("{indent} * {l}\n").replace(" \n", "\n"));
    }
    out.push_str(&format!("{indent} */\n"));
    out
}

/// The TypeScript type of values that `schema` describes.
pub fn ts_type(schema: &Json) -> String {
    if let Some(name) = schema["$ref"]
        .as_str()
        .and_then(|r| r.strip_prefix("#/$defs/"))
    {
        return pascal_def(name);
    }
    let Some(map) = schema.as_object() else {
        return if schema == &Json::Bool(false) {
            "never"
        } else {
            "unknown"
        }
        .into();
    };
    if let Some(c) = map.get("const") {
        return c.to_string();
    }
    if let Some(values) = map.get("enum").and_then(Json::as_array) {
        return union(values.iter().map(Json::to_string).collect());
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(options) = map.get(key).and_then(Json::as_array) {
            return union(options.iter().map(ts_type).collect());
        }
    }
    if let Some(all) = map.get("allOf").and_then(Json::as_array) {
        let parts: Vec<String> = all.iter().map(|s| format!("({})", ts_type(s))).collect();
        return parts.join(" & ");
    }
    match map.get("type") {
        Some(Json::Array(types)) => union(
            types
                .iter()
                .filter_map(Json::as_str)
                .map(|t| typed(t, map))
                .collect(),
        ),
        Some(Json::String(t)) => typed(t, map),
        _ => "unknown".into(),
    }
}

/// The TypeScript name of definition `name`.
pub fn pascal_def(name: &str) -> String {
    ident(name)
}

fn union(mut parts: Vec<String>) -> String {
    parts.dedup();
    match parts.len() {
        0 => "never".into(),
        1 => parts.remove(0),
        _ => parts.join(" | "),
    }
}

fn typed(t: &str, map: &Map<String, Json>) -> String {
    match t {
        "string" => "string".into(),
        "integer" | "number" => "number".into(),
        "boolean" => "boolean".into(),
        "null" => "null".into(),
        "array" => {
            if let Some(items) = map.get("prefixItems").and_then(Json::as_array) {
                let parts: Vec<String> = items.iter().map(ts_type).collect();
                return format!("[{}]", parts.join(", "));
            }
            match map.get("items") {
                Some(items) => {
                    let inner = ts_type(items);
                    if inner.contains(' ') {
                        format!("Array<{inner}>")
                    } else {
                        format!("{inner}[]")
                    }
                }
                None => "unknown[]".into(),
            }
        }
        "object" => object(map),
        _ => "unknown".into(),
    }
}

fn object(map: &Map<String, Json>) -> String {
    let required: Vec<&str> = map
        .get("required")
        .and_then(Json::as_array)
        .map(|r| r.iter().filter_map(Json::as_str).collect())
        .unwrap_or_default();
    let Some(props) = map.get("properties").and_then(Json::as_object) else {
        return match map.get("additionalProperties") {
            Some(v) if v.is_object() => format!("Record<string, {}>", ts_type(v)),
            _ => "Record<string, unknown>".into(),
        };
    };
    let mut out = String::from("{\n");
    for (name, schema) in props {
        out.push_str(&doc(schema["description"].as_str(), "  "));
        let optional = if required.contains(&name.as_str()) {
            ""
        } else {
            "?"
        };
        // A nested object's lines one level in.
        let ty = ts_type(schema).replace('\n', "\n  ");
        out.push_str(&format!("  {}{optional}: {ty};\n", property(name)));
    }
    out.push('}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn schemas_become_typescript_types() {
        assert_eq!(
            ts_type(&json!({"type": "integer", "format": "int64"})),
            "number"
        );
        assert_eq!(
            ts_type(&json!({"type": ["string", "null"]})),
            "string | null"
        );
        assert_eq!(
            ts_type(&json!({"type": "array", "items": {"type": "boolean"}})),
            "boolean[]"
        );
        assert_eq!(
            ts_type(
                &json!({"type": "array", "prefixItems": [{"type": "integer"}, {"type": "string"}]})
            ),
            "[number, string]"
        );
        assert_eq!(ts_type(&json!({"$ref": "#/$defs/Point"})), "Point");
        assert_eq!(ts_type(&json!({"enum": ["a", "b"]})), "\"a\" | \"b\"");
        assert_eq!(ts_type(&json!({"x-rust-type": "x::Y"})), "unknown");
        assert_eq!(
            ts_type(&json!({"type": "object", "additionalProperties": {"type": "number"}})),
            "Record<string, number>"
        );
        assert_eq!(
            ts_type(
                &json!({"type": "object", "properties": {"a": {"type": "string"}, "my-b": {"type": "null"}}, "required": ["a"]})
            ),
            "{\n  a: string;\n  \"my-b\"?: null;\n}"
        );
    }

    #[test]
    fn names_are_typescript_names() {
        assert_eq!(camel("count_to"), "countTo");
        assert_eq!(pascal("division_by_zero"), "DivisionByZero");
        assert_eq!(ident("delete"), "delete_");
        assert_eq!(ident("2d"), "_2d");
    }
}
