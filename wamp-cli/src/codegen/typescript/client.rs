//! A class per service: `new CalculatorClient(session)`, one typed method per procedure.

use serde_json::Value as Json;

use super::types::{camel, doc, ident, member, ts_type, uri_template};
use crate::codegen::Service;

/// One parameter of a method: its TypeScript name and type, and whether it may be left
/// out.
struct Param {
    name: String,
    ty: String,
    optional: bool,
}

fn list(v: &Json) -> impl Iterator<Item = &Json> {
    v.as_array().into_iter().flatten()
}

fn param(p: &Json) -> Param {
    let wire = p["name"].as_str().unwrap_or("arg");
    Param {
        name: ident(wire),
        ty: ts_type(&p["schema"]),
        optional: p["required"].as_bool() == Some(false),
    }
}

pub fn generate(s: &Service) -> String {
    let class = format!("{}Client", ident(&s.name));
    let mut out = String::from("\n");
    let text = s
        .description
        .clone()
        .unwrap_or_else(|| format!("Calls the procedures of the `{}` service.", s.name));
    out.push_str(&doc(Some(&text), ""));
    out.push_str(&format!(
        "export class {class} {{\n  /** A client calling through `session`; every call carries `options`. */\n  constructor(\n    readonly session: WampSession,\n    readonly options: CallOptions = {{}},\n  ) {{}}\n"
    ));
    let mut names: Vec<String> = vec!["session".into(), "options".into()];
    for p in &s.procedures {
        out.push_str(&method(p, &mut names));
    }
    out.push_str("}\n");
    out
}

fn method(p: &Json, names: &mut Vec<String>) -> String {
    let uri = p["uri"].as_str().unwrap_or_default();
    let base = p["name"].as_str().map(str::to_owned).unwrap_or_else(|| {
        uri.split('.')
            .rfind(|c| !c.starts_with('{'))
            .unwrap_or("call")
            .to_owned()
    });
    let mut name = member(&camel(&base));
    while names.contains(&name) {
        name.push('_');
    }
    names.push(name.clone());

    let placeholders: Vec<&Json> = list(&p["placeholders"]).collect();
    let by_uri = p["match"].as_str().is_some_and(|m| m != "exact") && placeholders.is_empty();
    let mut params: Vec<Param> = Vec::new();
    if by_uri {
        params.push(Param {
            name: "procedure".into(),
            ty: "string".into(),
            optional: false,
        });
    }
    params.extend(placeholders.iter().map(|ph| Param {
        optional: false,
        ..param(ph)
    }));
    let positional: Vec<Param> = list(&p["args"]).map(param).collect();
    let (mut required_kw, optional_kw): (Vec<Param>, Vec<Param>) =
        list(&p["kwargs"]).map(param).partition(|k| !k.optional);
    let kw_wire: Vec<(String, String)> = list(&p["kwargs"])
        .filter_map(|k| Some((k["name"].as_str()?.to_owned(), ident(k["name"].as_str()?))))
        .collect();
    let args_expr: Vec<String> = positional.iter().map(|a| a.name.clone()).collect();
    params.extend(positional.into_iter().map(|a| Param {
        optional: false,
        ..a
    }));
    params.append(&mut required_kw);
    params.extend(optional_kw);
    let signature: Vec<String> = params
        .iter()
        .map(|x| {
            if x.optional {
                format!("{}?: {}", x.name, x.ty)
            } else {
                format!("{}: {}", x.name, x.ty)
            }
        })
        .collect();

    let uri_expr = if by_uri {
        "procedure".to_owned()
    } else {
        uri_template(uri, |name, tail| {
            let helper = if tail { "tail" } else { "component" };
            format!("{helper}({}, {name:?})", ident(name))
        })
    };
    let kwargs_expr = if kw_wire.is_empty() {
        "{}".to_owned()
    } else {
        let fields: Vec<String> = kw_wire
            .iter()
            .map(|(wire, local)| format!("{}: {local}", Json::String(wire.clone())))
            .collect();
        format!("given({{ {} }})", fields.join(", "))
    };
    let mut own = Vec::new();
    if let Some(ms) = p["timeout_ms"].as_u64() {
        own.push(format!("timeout: {ms}"));
    }
    let result = &p["result"];
    let ty = ts_type(&result["schema"]);
    let progressive = p["progressive"].as_bool() == Some(true);

    let mut text = p["description"].as_str().unwrap_or_default().to_owned();
    if !text.is_empty() {
        text.push_str("\n\n");
    }
    text.push_str(&format!("Calls `{uri}`."));
    let errors: Vec<&str> = list(&p["errors"]).filter_map(Json::as_str).collect();
    if !errors.is_empty() {
        text.push_str(&format!(
            "\n@throws the error class of {}, or WampError",
            errors.join(", ")
        ));
    }
    if let Some(note) = p["deprecated"].as_str() {
        text.push_str(&format!("\n@deprecated {note}"));
    }
    let mut out = String::from("\n");
    out.push_str(&doc(Some(&text), "  "));
    let args = format!("[{}]", args_expr.join(", "));
    if progressive {
        let own: String = own.iter().map(|o| format!(" {o},")).collect();
        out.push_str(&format!(
            "  {name}({}): AsyncIterable<{ty}> {{\n    return progressive<{ty}>(() =>\n      this.session.call({uri_expr}, {args}, {kwargs_expr}, {{ ...this.options,{own} receive_progress: true }}),\n    );\n  }}\n",
            signature.join(", ")
        ));
        return out;
    }
    let own = if own.is_empty() {
        "{}".to_owned()
    } else {
        format!("{{ {} }}", own.join(", "))
    };
    let (ret, read) = match result["shape"].as_str() {
        Some("args") => (ty.clone(), format!("return r.args as unknown as {ty};")),
        Some("kwargs") => (ty.clone(), format!("return r.kwargs as unknown as {ty};")),
        _ if ty == "null" => ("void".to_owned(), "void r;".to_owned()),
        _ => (ty.clone(), format!("return r.args[0] as {ty};")),
    };
    out.push_str(&format!(
        "  async {name}({}): Promise<{ret}> {{\n    const r = await invoke(this.session, this.options, {uri_expr}, {args}, {kwargs_expr}, {own});\n    {read}\n  }}\n",
        signature.join(", ")
    ));
    out
}
