//! The wire shape of a typed procedure, as generated code builds and reads it: which
//! parameters travel as positional `args` and which as `kwargs` (under their wire
//! names), what a call with extra arguments gets, and whether the result travels as one
//! argument, as several, or as `kwargs`.

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{parse_component, TopicComponent, WampError};
use crate::client::{Args, Call, IntoResult, Session};

use crate::proto::{error, from_value, to_value, Dict, Value, ValueError};

/// How a procedure's result travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ResultShape {
    /// As one argument, `args = [result]` (the default; `()` is no argument).
    #[default]
    Value,
    /// As several arguments: the result (a tuple or a list) is `args`.
    Args,
    /// As keyword arguments: the result (a struct or a map) is `kwargs`.
    Kwargs,
}

impl ResultShape {
    /// Turns what a callee returned into the arguments it sends.
    #[doc(hidden)]
    pub fn send<T: Serialize>(self, value: T) -> Result<Args, WampError> {
        let bad = |what: &str, e: String| {
            WampError::with_message(
                error::RUNTIME_ERROR,
                format!("the result cannot travel as {what}: {e}"),
            )
        };
        match self {
            ResultShape::Value => value.into_result().map_err(|e| bad("a value", e.0)),
            ResultShape::Args => match to_value(&value).map_err(|e| bad("args", e.0))? {
                Value::List(args) => Ok(Args {
                    args,
                    ..Default::default()
                }),
                other => Err(bad("args", format!("it is not a list but {other:?}"))),
            },
            ResultShape::Kwargs => match to_value(&value).map_err(|e| bad("kwargs", e.0))? {
                Value::Dict(kwargs) => Ok(Args {
                    kwargs,
                    ..Default::default()
                }),
                other => Err(bad("kwargs", format!("it is not a map but {other:?}"))),
            },
        }
    }

    /// Puts a received result back in the form the result type reads.
    #[doc(hidden)]
    pub fn received(self, mut a: Args) -> Args {
        let whole = match self {
            ResultShape::Value => return a,
            ResultShape::Args => Value::List(std::mem::take(&mut a.args)),
            ResultShape::Kwargs => Value::Dict(std::mem::take(&mut a.kwargs)),
        };
        Args {
            args: vec![whole],
            ..Default::default()
        }
    }
}

/// Reads a parameter that travels only as a keyword argument (`#[wamp(kwarg)]`): absent
/// reads as null, so an `Option` may be left out.
#[doc(hidden)]
pub fn kwarg_param<T: DeserializeOwned>(args: &Args, name: &str) -> Result<T, WampError> {
    let value = args.kwargs.get(name).cloned().unwrap_or(Value::Null);
    from_value(value).map_err(|e| {
        WampError::with_message(
            error::INVALID_ARGUMENT,
            format!("keyword argument {name:?}: {e}"),
        )
    })
}

/// Refuses a call with more positional arguments than the procedure takes
/// (`positional`), or with a keyword argument that names none of its parameters
/// (`names`): `wamp.error.invalid_argument`, as a Python function refuses them, rather
/// than dropping what the caller meant to say.
#[doc(hidden)]
pub fn check_extras(args: &Args, positional: usize, names: &[&str]) -> Result<(), WampError> {
    if args.args.len() > positional {
        return Err(WampError::with_message(
            error::INVALID_ARGUMENT,
            format!(
                "{} positional arguments given, the procedure takes {positional}",
                args.args.len()
            ),
        ));
    }
    if let Some(unknown) = args.kwargs.keys().find(|k| !names.contains(&k.as_str())) {
        return Err(WampError::with_message(
            error::INVALID_ARGUMENT,
            format!("unknown keyword argument {unknown:?}: the procedure takes {names:?}"),
        ));
    }
    Ok(())
}

/// The arguments a stub sends, built one by one; the first that cannot be serialized
/// fails the call.
#[doc(hidden)]
#[derive(Debug, Default)]
pub struct StubArgs {
    args: Vec<Value>,
    kwargs: Dict,
    error: Option<ValueError>,
}

impl StubArgs {
    pub fn new() -> Self {
        Self::default()
    }

    /// A positional argument.
    pub fn arg<T: Serialize>(mut self, value: &T) -> Self {
        match to_value(value) {
            Ok(v) => self.args.push(v),
            Err(e) => self.error = self.error.or(Some(e)),
        }
        self
    }

    /// A keyword argument under its wire name; `None` (null) is left out, so that the
    /// callee's default applies.
    pub fn kwarg<T: Serialize>(mut self, name: &str, value: &T) -> Self {
        match to_value(value) {
            Ok(Value::Null) => {}
            Ok(v) => {
                self.kwargs.insert(name.to_owned(), v);
            }
            Err(e) => self.error = self.error.or(Some(e)),
        }
        self
    }

    /// The call to `procedure` (or the reason it cannot be built) with these arguments.
    pub fn call_at(self, session: &Session, procedure: Result<String, ValueError>) -> Call<Args> {
        let (procedure, args) = match (procedure, self.error) {
            (Ok(p), None) => (
                p,
                Ok(Args {
                    args: self.args,
                    kwargs: self.kwargs,
                    ..Default::default()
                }),
            ),
            (Ok(p), Some(e)) => (p, Err(e)),
            (Err(e), _) => (String::new(), Err(e)),
        };
        Call::new(session.clone(), procedure, args)
    }
}

/// Reads the parameter that fills placeholder `name`, component `index` of the URI
/// called (a typed pattern procedure's `{name}`).
#[doc(hidden)]
pub fn uri_param<T: TopicComponent>(
    procedure: &str,
    index: usize,
    name: &str,
) -> Result<T, WampError> {
    let component = procedure.split('.').nth(index).unwrap_or_default();
    parse_component(component, name)
        .map_err(|e| WampError::with_message(error::INVALID_ARGUMENT, e.0))
}

/// Reads the tail placeholder `name` (`{*name}`) of the URI called: what follows `prefix`
/// and a dot.
#[doc(hidden)]
pub fn uri_tail(procedure: &str, prefix: &str, name: &str) -> Result<String, WampError> {
    match procedure
        .strip_prefix(prefix)
        .and_then(|t| t.strip_prefix('.'))
    {
        Some(tail) if !tail.is_empty() => Ok(tail.to_owned()),
        _ => Err(WampError::with_message(
            error::INVALID_ARGUMENT,
            format!("{procedure:?} has no {{*{name}}} after {prefix:?}"),
        )),
    }
}

/// The URI of a prefix procedure with its tail (`{*name}`): one or more components.
#[doc(hidden)]
pub fn with_tail(prefix: &str, tail: &impl AsRef<str>) -> Result<String, ValueError> {
    let tail = tail.as_ref();
    if !tail.split('.').all(super::topic::is_component) {
        return Err(ValueError(format!(
            "{tail:?} is not a URI's tail (components, not empty, without '#' or whitespace)"
        )));
    }
    Ok(format!("{prefix}.{tail}"))
}

/// The URI of a typed pattern procedure, from its components (each fixed, or filled from
/// an argument).
#[doc(hidden)]
pub fn join_components<const N: usize>(
    parts: [Result<String, ValueError>; N],
) -> Result<String, ValueError> {
    let parts: Vec<String> = parts.into_iter().collect::<Result<_, _>>()?;
    Ok(parts.join("."))
}
