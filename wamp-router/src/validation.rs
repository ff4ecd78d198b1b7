//! Optional checks of CALL and PUBLISH payloads against the interface descriptions a realm
//! keeps (`validate_payloads`): a call whose arguments a procedure's description does not
//! admit gets `wamp.error.invalid_argument` with the schema's complaint before any callee
//! sees it; such a publication is refused the same way.
//!
//! Arguments are read as a generated callee reads them: each positional parameter from
//! `args[i]`, else from `kwargs[name]`; each keyword-only one from `kwargs[name]`; one that
//! is missing must be one that may be left out. Extra arguments are the callee's to refuse.
//! Opaque (passthru) payloads are not looked into.

use jsonschema::Validator;
use serde_json::Value as Json;
use wamp_runtime::interface::Shape;
use wamp_runtime::proto::{Dict, List, Value};

/// One parameter's check.
struct ParamCheck {
    name: String,
    required: bool,
    /// `None`: any value.
    schema: Option<Validator>,
}

/// The checks of a procedure's arguments.
pub(crate) struct CallCheck {
    args: Vec<ParamCheck>,
    kwargs: Vec<ParamCheck>,
}

/// The check of a topic's payload.
pub(crate) struct EventCheck {
    shape: Shape,
    schema: Option<Validator>,
}

/// `schema` (a part of `item`) with the definitions of `item`, compiled; `None` for a
/// schema that admits anything.
fn compile(schema: &Json, item: &Json) -> Result<Option<Validator>, String> {
    let Json::Object(map) = schema else {
        return Ok(None);
    };
    if map.is_empty() || map.contains_key("x-rust-type") {
        return Ok(None);
    }
    let mut whole = map.clone();
    if let Some(defs) = item.get("$defs") {
        whole.insert("$defs".into(), defs.clone());
    }
    jsonschema::draft202012::new(&Json::Object(whole))
        .map(Some)
        .map_err(|e| format!("the description's schema does not compile: {e}"))
}

fn params(item: &Json, key: &str) -> Result<Vec<ParamCheck>, String> {
    let mut out = Vec::new();
    for p in item[key].as_array().into_iter().flatten() {
        out.push(ParamCheck {
            name: p["name"].as_str().unwrap_or_default().to_owned(),
            required: p["required"].as_bool() != Some(false),
            schema: compile(&p["schema"], item)?,
        });
    }
    Ok(out)
}

/// A received value as JSON, for the validator.
fn json(v: &Value) -> Json {
    serde_json::to_value(v).unwrap_or(Json::Null)
}

/// Checks `value` of parameter `p` (`what` names it in the complaint).
fn check_one(p: &ParamCheck, value: Option<&Value>, what: &str) -> Result<(), String> {
    let value = match value {
        Some(Value::Null) | None if !p.required => return Ok(()),
        None => return Err(format!("{what} {:?} is missing", p.name)),
        Some(v) => v,
    };
    let Some(schema) = &p.schema else {
        return Ok(());
    };
    match complaint(schema, &json(value)) {
        None => Ok(()),
        Some(e) => Err(format!("{what} {:?}: {e}", p.name)),
    }
}

/// The first thing `schema` finds wrong with `value`, and where.
fn complaint(schema: &Validator, value: &Json) -> Option<String> {
    let found = schema.iter_errors(value).next().map(|e| {
        let at = e.instance_path().to_string();
        let at = if at.is_empty() { "/".to_owned() } else { at };
        format!("{e} (at {at})")
    });
    found
}

impl CallCheck {
    /// The checks of a procedure's description.
    pub fn compile(item: &Json) -> Result<CallCheck, String> {
        Ok(CallCheck {
            args: params(item, "args")?,
            kwargs: params(item, "kwargs")?,
        })
    }

    /// Whether the description admits `args` and `kwargs`; `Err` says why not.
    pub fn check(&self, args: &List, kwargs: &Dict) -> Result<(), String> {
        for (i, p) in self.args.iter().enumerate() {
            let value = args.get(i).or_else(|| kwargs.get(&p.name));
            check_one(p, value, &format!("argument #{i}"))?;
        }
        for p in &self.kwargs {
            check_one(p, kwargs.get(&p.name), "keyword argument")?;
        }
        Ok(())
    }
}

impl EventCheck {
    /// The check of a topic's description.
    pub fn compile(item: &Json) -> Result<EventCheck, String> {
        let payload = &item["payload"];
        let shape = serde_json::from_value(payload["shape"].clone()).unwrap_or(Shape::Auto);
        Ok(EventCheck {
            shape,
            schema: compile(&payload["schema"], item)?,
        })
    }

    /// Whether the description admits an event with `args` and `kwargs`.
    pub fn check(&self, args: &List, kwargs: &Dict) -> Result<(), String> {
        let Some(schema) = &self.schema else {
            return Ok(());
        };
        let value = match self.shape {
            Shape::Kwargs => Value::Dict(kwargs.clone()),
            Shape::Args => Value::List(args.clone()),
            Shape::Value => args.first().cloned().unwrap_or(Value::Null),
            Shape::Auto => match (args.as_slice(), kwargs.is_empty()) {
                ([], false) => Value::Dict(kwargs.clone()),
                ([one], true) => one.clone(),
                ([], true) => Value::Null,
                _ => Value::List(args.clone()),
            },
        };
        match complaint(schema, &json(&value)) {
            None => Ok(()),
            Some(e) => Err(format!("the event payload: {e}")),
        }
    }
}
