//! An error class per error URI: `CalcErrorOverflow extends CalcError extends WampError`,
//! its fields as typed getters (keyword fields) or a typed `args` (positional ones).

use serde_json::Value as Json;

use super::types::{doc, ident, pascal, ts_type};

/// The classes, and the class of each URI (to read errors back by URI).
pub struct Classes {
    pub code: String,
    pub by_uri: Vec<(String, String)>,
}

pub fn generate(errors: &[Json]) -> Classes {
    let mut code = String::new();
    let mut by_uri = Vec::new();
    let mut bases: Vec<String> = Vec::new();
    let mut used: Vec<String> = Vec::new();
    for e in errors {
        let Some(uri) = e["uri"].as_str() else {
            continue;
        };
        // "CalcError::Overflow": base class CalcError, class CalcErrorOverflow.
        let (base, class) = match e["name"].as_str().and_then(|n| n.split_once("::")) {
            Some((ty, variant)) => (Some(ident(ty)), ident(&format!("{ty}{variant}"))),
            None => match e["name"].as_str() {
                Some(ty) => (None, ident(ty)),
                None => {
                    let last = uri.rsplit('.').next().unwrap_or(uri);
                    (None, format!("{}Error", pascal(last)))
                }
            },
        };
        let mut class = class;
        while used.contains(&class) {
            class.push('_');
        }
        used.push(class.clone());
        let parent = match &base {
            Some(b) => {
                if !bases.contains(b) {
                    bases.push(b.clone());
                    code.push_str(&format!(
                        "\n/** One of the errors of `{b}`. */\nexport class {b} extends WampError {{}}\n"
                    ));
                }
                b.clone()
            }
            None => "WampError".into(),
        };
        let text = e["description"].as_str().map(|d| format!("{d}\n\n`{uri}`"));
        code.push('\n');
        code.push_str(&doc(text.as_deref().or(Some(&format!("`{uri}`"))), ""));
        code.push_str(&format!("export class {class} extends {parent} {{\n"));
        code.push_str(&format!(
            "  static readonly URI = {};\n",
            Json::String(uri.into())
        ));
        let positional: Vec<String> = e["args"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| ts_type(&p["schema"]))
            .collect();
        if !positional.is_empty() {
            code.push_str(&format!(
                "  declare readonly args: [{}];\n",
                positional.join(", ")
            ));
        }
        code.push_str(&format!(
            "  constructor(args: unknown[] = [], kwargs: Record<string, unknown> = {{}}) {{\n    super({class}.URI, args, kwargs);\n    this.name = {};\n  }}\n",
            Json::String(class.clone())
        ));
        for p in e["kwargs"].as_array().into_iter().flatten() {
            let Some(name) = p["name"].as_str() else {
                continue;
            };
            code.push_str(&doc(p["description"].as_str(), "  "));
            let optional = if p["required"].as_bool() == Some(false) {
                " | undefined"
            } else {
                ""
            };
            code.push_str(&format!(
                "  get {}(): {}{optional} {{\n    return this.kwargs[{}] as {}{optional};\n  }}\n",
                ident(name),
                ts_type(&p["schema"]),
                Json::String(name.into()),
                ts_type(&p["schema"]),
            ));
        }
        code.push_str("}\n");
        by_uri.push((uri.to_owned(), class));
    }
    Classes { code, by_uri }
}
