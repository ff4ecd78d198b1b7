//! Conformance against the specification's official test vectors (`wamp-proto/testsuite`).
//!
//! The vectors are read from `$WAMP_TESTSUITE`, or from `shared/wamp-testsuite` beside the
//! repository. A missing folder fails the test: the vectors are part of the suite.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::PathBuf;

use bytes::Bytes;
use serde_json::{json, Map, Value as Json};
use wamp_runtime::proto::{Message, PayloadValues, Value};
use wamp_runtime::Serializer;

fn suite_dir() -> PathBuf {
    if let Ok(p) = std::env::var("WAMP_TESTSUITE") {
        return PathBuf::from(p);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/wamp-testsuite")
}

fn vector_files() -> Vec<PathBuf> {
    let dir = suite_dir().join("singlemessage");
    let mut files = Vec::new();
    for sub in ["basic", "advanced"] {
        let entries = std::fs::read_dir(dir.join(sub)).unwrap_or_else(|e| {
            panic!(
                "test vectors missing at {} ({e}); set WAMP_TESTSUITE",
                dir.display()
            )
        });
        for e in entries.flatten() {
            if e.path().extension().is_some_and(|x| x == "json") {
                files.push(e.path());
            }
        }
    }
    files.sort();
    assert!(files.len() >= 20, "expected the full vector set");
    files
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

fn to_hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn to_json(v: &Value) -> Json {
    match v {
        Value::Null => Json::Null,
        Value::Bool(b) => json!(b),
        Value::Int(i) => json!(i),
        Value::UInt(u) => json!(u),
        Value::Float(f) => json!(f),
        Value::Str(s) => json!(s),
        Value::Bytes(b) => json!(to_hex(b)),
        Value::List(l) => Json::Array(l.iter().map(to_json).collect()),
        Value::Dict(d) => Json::Object(d.iter().map(|(k, v)| (k.clone(), to_json(v))).collect()),
    }
}

fn dict_json(d: &wamp_runtime::Dict) -> Json {
    to_json(&Value::Dict(d.clone()))
}

/// The message's attributes under the names the vectors use.
fn attributes(m: &Message) -> Map<String, Json> {
    let mut a = Map::new();
    a.insert("message_type".into(), json!(m.code()));
    let mut put = |k: &str, v: Json| {
        a.insert(k.into(), v);
    };
    let payload = |p: &wamp_runtime::Payload, put: &mut dyn FnMut(&str, Json)| match p
        .to_values()
        .expect("payload decodes")
    {
        PayloadValues::Empty => {
            put("args", Json::Null);
            put("kwargs", Json::Null);
        }
        PayloadValues::Args { args, kwargs } => {
            put("args", to_json(&Value::List(args)));
            put("kwargs", kwargs.map_or(Json::Null, |k| dict_json(&k)));
        }
        PayloadValues::Transparent(v) => {
            put("args", Json::Null);
            put("kwargs", Json::Null);
            put("payload", to_json(&v));
        }
    };
    match m {
        Message::Hello { realm, details } => {
            put("realm", json!(realm));
            put("roles", details.get("roles").map_or(Json::Null, to_json));
        }
        Message::Welcome { session, details } => {
            put("session_id", json!(session));
            put("roles", details.get("roles").map_or(Json::Null, to_json));
        }
        Message::Abort { details, reason } | Message::Goodbye { details, reason } => {
            put("details", dict_json(details));
            put("reason", json!(reason));
        }
        Message::Challenge { auth_method, extra } => {
            put("method", json!(auth_method));
            put("extra", dict_json(extra));
        }
        Message::Authenticate { signature, extra } => {
            put("signature", json!(signature));
            put("extra", dict_json(extra));
        }
        Message::Error {
            request_type,
            request,
            details,
            error,
            payload: p,
        } => {
            put("request_type", json!(request_type));
            put("request_id", json!(request));
            put("details", dict_json(details));
            put("error", json!(error));
            payload(p, &mut put);
        }
        Message::Publish {
            request,
            options,
            topic,
            payload: p,
        } => {
            put("request_id", json!(request));
            put("options", dict_json(options));
            put("topic", json!(topic));
            payload(p, &mut put);
        }
        Message::Published {
            request,
            publication,
        } => {
            put("request_id", json!(request));
            put("publication_id", json!(publication));
        }
        Message::Subscribe {
            request,
            options,
            topic,
        } => {
            put("request_id", json!(request));
            put("options", dict_json(options));
            put("topic", json!(topic));
        }
        Message::Subscribed {
            request,
            subscription,
        }
        | Message::Unsubscribe {
            request,
            subscription,
        } => {
            put("request_id", json!(request));
            put("subscription_id", json!(subscription));
        }
        Message::Unsubscribed { request, .. } | Message::Unregistered { request, .. } => {
            put("request_id", json!(request));
        }
        Message::Event {
            subscription,
            publication,
            details,
            payload: p,
        } => {
            put("subscription", json!(subscription));
            put("publication", json!(publication));
            put("details", dict_json(details));
            payload(p, &mut put);
        }
        Message::EventReceived { publication } => put("publication_id", json!(publication)),
        Message::Call {
            request,
            options,
            procedure,
            payload: p,
        } => {
            put("request_id", json!(request));
            put("options", dict_json(options));
            put("procedure", json!(procedure));
            payload(p, &mut put);
        }
        Message::Cancel { request, options }
        | Message::Interrupt { request, options }
        | Message::Yield {
            request, options, ..
        } => {
            put("request_id", json!(request));
            put("options", dict_json(options));
        }
        Message::Result {
            request,
            details,
            payload: p,
        } => {
            put("request_id", json!(request));
            put("details", dict_json(details));
            payload(p, &mut put);
        }
        Message::Register {
            request,
            options,
            procedure,
        } => {
            put("request_id", json!(request));
            put("options", dict_json(options));
            put("procedure", json!(procedure));
        }
        Message::Registered {
            request,
            registration,
        }
        | Message::Unregister {
            request,
            registration,
        } => {
            put("request_id", json!(request));
            put("registration_id", json!(registration));
        }
        Message::Invocation {
            request,
            registration,
            details,
            ..
        } => {
            put("request_id", json!(request));
            put("registration_id", json!(registration));
            put("details", dict_json(details));
        }
    }
    a
}

fn serializer(name: &str) -> Option<Serializer> {
    match name {
        "json" => Some(Serializer::Json),
        "msgpack" => Some(Serializer::MsgPack),
        "cbor" => Some(Serializer::Cbor),
        _ => None, // UBJSON and FlatBuffers are not WAMP serializers we speak
    }
}

#[test]
fn serialization_samples_decode_and_encode() {
    let mut checked = 0;
    for file in vector_files() {
        let text = std::fs::read_to_string(&file).expect("read vector");
        let doc: Json = serde_json::from_str(&text).expect("vector is JSON");
        for sample in doc["samples"].as_array().expect("samples") {
            let Some(expected) = sample.get("expected_attributes") else {
                continue;
            };
            let what = format!("{} / {}", file.display(), sample["description"]);
            for (name, reprs) in sample["serializers"].as_object().expect("serializers") {
                let Some(ser) = serializer(name) else {
                    continue;
                };
                let reprs: Vec<Vec<u8>> = reprs
                    .as_array()
                    .expect("representations")
                    .iter()
                    .map(|r| hex(r["bytes_hex"].as_str().expect("bytes_hex")))
                    .collect();
                let mut encoded_once = None;
                for bytes in &reprs {
                    let msg = ser
                        .decode(&Bytes::from(bytes.clone()))
                        .unwrap_or_else(|e| panic!("{what} [{name}]: decode failed: {e}"));
                    let attrs = attributes(&msg);
                    for (k, v) in expected.as_object().expect("attributes") {
                        let got = attrs.get(k).unwrap_or(&Json::Null);
                        let same = got == v
                            || (k == "kwargs" && v.is_null() && got == &json!({}))
                            || (v.is_f64() && got.as_f64() == v.as_f64());
                        assert!(same, "{what} [{name}]: {k}: expected {v}, got {got}");
                    }
                    let out = ser.encode(&msg).expect("encode");
                    encoded_once.get_or_insert(out);
                    checked += 1;
                }
                // At least one of the listed representations is what we produce.
                let ours = encoded_once.expect("one representation");
                assert!(
                    reprs.iter().any(|r| r[..] == ours[..]),
                    "{what} [{name}]: our encoding {} matches none of the vectors",
                    String::from_utf8_lossy(&ours)
                );
            }
        }
    }
    assert!(checked >= 60, "only {checked} representations checked");
}

#[test]
fn validation_samples_are_accepted_or_rejected() {
    let mut checked = 0;
    for file in vector_files() {
        let text = std::fs::read_to_string(&file).expect("read vector");
        let doc: Json = serde_json::from_str(&text).expect("vector is JSON");
        for sample in doc["samples"].as_array().expect("samples") {
            let Some(wmsg) = sample.get("wmsg") else {
                continue;
            };
            let what = format!("{} / {}", file.display(), sample["description"]);
            let json_bytes = Bytes::from(serde_json::to_vec(wmsg).expect("json"));
            // The same message through every serializer.
            let value = Serializer::Json.decode_value(&json_bytes).expect("value");
            for ser in Serializer::ALL {
                let mut frame = Vec::new();
                ser.encode_value(&value, &mut frame).expect("encode value");
                // Decoding takes the envelope; the options are checked apart, so that a
                // router can refuse a bad one with ERROR rather than end the session.
                let result = ser
                    .decode(&Bytes::from(frame))
                    .map_err(|e| e.to_string())
                    .and_then(|m| m.check_options().map(|()| m).map_err(|e| e.to_string()));
                match sample.get("expected_error") {
                    Some(err) => {
                        let e = match result {
                            Err(e) => e,
                            Ok(m) => panic!("{what} [{ser}]: accepted invalid message {m:?}"),
                        };
                        let needle = err["contains"].as_str().unwrap_or("");
                        assert!(
                            e.contains(needle),
                            "{what} [{ser}]: error {e:?} lacks {needle:?}"
                        );
                    }
                    None => {
                        result.unwrap_or_else(|e| panic!("{what} [{ser}]: rejected: {e}"));
                    }
                }
                checked += 1;
            }
        }
    }
    assert!(checked >= 150, "only {checked} validation checks");
}
