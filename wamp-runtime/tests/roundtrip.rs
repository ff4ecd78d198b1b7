//! Property tests: every message survives encode → decode in every serializer, payloads
//! transcode between serializers without loss, and no input makes a decoder panic.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use bytes::Bytes;
use proptest::prelude::*;
use wamp_runtime::client::{FromArgs, FromResult};
use wamp_runtime::proto::{Dict, Message, Payload, Value, MAX_ID};
use wamp_runtime::{Args, Serializer};

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::Int),
        ((i64::MAX as u64 + 1)..=u64::MAX).prop_map(Value::UInt),
        // Finite floats: JSON has no NaN or infinities.
        (-1e300f64..1e300).prop_map(Value::Float),
        // A string that starts with NUL is JSON's marker of binary data.
        "[^\u{0}][ -~é€😀]{0,12}|".prop_map(Value::Str),
        proptest::collection::vec(any::<u8>(), 0..24).prop_map(Value::Bytes),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::List),
            proptest::collection::vec(("[a-z_]{1,8}", inner), 0..6)
                .prop_map(|kv| Value::Dict(kv.into_iter().collect())),
        ]
    })
}

fn dict() -> impl Strategy<Value = Dict> {
    proptest::collection::vec(("x_[a-z]{1,6}", value()), 0..4)
        .prop_map(|kv| kv.into_iter().collect())
}

fn id() -> impl Strategy<Value = u64> {
    1..=MAX_ID
}

fn uri() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9_]{0,6}(\\.[a-z0-9_]{1,6}){0,4}"
}

fn payload() -> impl Strategy<Value = Payload> {
    prop_oneof![
        Just(Payload::empty()),
        proptest::collection::vec(value(), 0..4).prop_map(Payload::args),
        (
            proptest::collection::vec(value(), 0..3),
            proptest::collection::vec(("[a-z]{1,6}", value()), 1..4)
        )
            .prop_map(|(a, k)| Payload::from_parts(a, Some(k.into_iter().collect()))),
    ]
}

fn message() -> impl Strategy<Value = Message> {
    prop_oneof![
        (uri(), dict()).prop_map(|(realm, details)| Message::Hello { realm, details }),
        (id(), dict()).prop_map(|(session, details)| Message::Welcome { session, details }),
        (dict(), uri()).prop_map(|(details, reason)| Message::Abort { details, reason }),
        (dict(), uri()).prop_map(|(details, reason)| Message::Goodbye { details, reason }),
        ("[a-z-]{1,10}", dict())
            .prop_map(|(auth_method, extra)| Message::Challenge { auth_method, extra }),
        ("[A-Za-z0-9+/=]{0,20}", dict())
            .prop_map(|(signature, extra)| Message::Authenticate { signature, extra }),
        (
            prop::sample::select(vec![32u64, 34, 16, 64, 66, 48, 68]),
            id(),
            dict(),
            uri(),
            payload()
        )
            .prop_map(
                |(request_type, request, details, error, payload)| Message::Error {
                    request_type,
                    request,
                    details,
                    error,
                    payload
                }
            ),
        (id(), dict(), uri(), payload()).prop_map(|(request, options, topic, payload)| {
            Message::Publish {
                request,
                options,
                topic,
                payload,
            }
        }),
        (id(), id()).prop_map(|(request, publication)| Message::Published {
            request,
            publication
        }),
        (id(), dict(), uri()).prop_map(|(request, options, topic)| Message::Subscribe {
            request,
            options,
            topic
        }),
        (id(), id()).prop_map(|(request, subscription)| Message::Subscribed {
            request,
            subscription
        }),
        (id(), id()).prop_map(|(request, subscription)| Message::Unsubscribe {
            request,
            subscription
        }),
        (id(), proptest::option::of(dict()))
            .prop_map(|(request, details)| Message::Unsubscribed { request, details }),
        (id(), id(), dict(), payload()).prop_map(
            |(subscription, publication, details, payload)| {
                Message::Event {
                    subscription,
                    publication,
                    details,
                    payload,
                }
            }
        ),
        id().prop_map(|publication| Message::EventReceived { publication }),
        (id(), dict(), uri(), payload()).prop_map(|(request, options, procedure, payload)| {
            Message::Call {
                request,
                options,
                procedure,
                payload,
            }
        }),
        (id(), dict()).prop_map(|(request, options)| Message::Cancel { request, options }),
        (id(), dict(), payload()).prop_map(|(request, details, payload)| Message::Result {
            request,
            details,
            payload
        }),
        (id(), dict(), uri()).prop_map(|(request, options, procedure)| Message::Register {
            request,
            options,
            procedure
        }),
        (id(), id()).prop_map(|(request, registration)| Message::Registered {
            request,
            registration
        }),
        (id(), id()).prop_map(|(request, registration)| Message::Unregister {
            request,
            registration
        }),
        (id(), proptest::option::of(dict()))
            .prop_map(|(request, details)| Message::Unregistered { request, details }),
        (id(), id(), dict(), payload()).prop_map(|(request, registration, details, payload)| {
            Message::Invocation {
                request,
                registration,
                details,
                payload,
            }
        }),
        (id(), dict()).prop_map(|(request, options)| Message::Interrupt { request, options }),
        (id(), dict(), payload()).prop_map(|(request, options, payload)| Message::Yield {
            request,
            options,
            payload
        }),
    ]
}

/// A MessagePack payload as it arrives in a frame.
fn msgpack_payload(args: &[Value], kwargs: &Dict) -> Payload {
    let mut a = Vec::new();
    Serializer::MsgPack
        .encode_value(&Value::List(args.to_vec()), &mut a)
        .unwrap();
    let k = (!kwargs.is_empty()).then(|| {
        let mut k = Vec::new();
        Serializer::MsgPack
            .encode_value(&Value::Dict(kwargs.clone()), &mut k)
            .unwrap();
        Bytes::from(k)
    });
    Payload::from_encoded(Serializer::MsgPack, Bytes::from(a), k)
}

/// Reading `T` straight from a payload's bytes gives what reading it through values
/// gives: the same value, or an error both ways.
fn reads_alike<T>(payload: &Payload) -> Result<(), TestCaseError>
where
    T: FromArgs + FromResult + PartialEq + std::fmt::Debug,
{
    let details = Dict::new();
    let through = Args::from_payload(payload).expect("values");
    let as_args = (
        <T as FromArgs>::from_received(payload, &details).ok(),
        T::from_args(through.clone()).ok(),
    );
    prop_assert_eq!(as_args.0, as_args.1, "as arguments");
    let as_result = (
        <T as FromResult>::from_received(payload, &details).ok(),
        T::from_result(through).ok(),
    );
    prop_assert_eq!(as_result.0, as_result.1, "as a result");
    Ok(())
}

#[derive(Debug, PartialEq, serde::Deserialize)]
struct Point {
    x: i64,
    y: Option<f64>,
}

#[derive(Debug, PartialEq, serde::Deserialize)]
enum Shape {
    Dot,
    Circle(f64),
    Rect { w: u32, h: u32 },
}

#[derive(Debug, PartialEq, serde::Deserialize)]
struct Level(u32);

fn small() -> impl Strategy<Value = Value> {
    prop_oneof![
        value(),
        (0i64..300).prop_map(Value::Int),
        "[a-z]{0,3}".prop_map(Value::Str),
        Just(Value::Str("Dot".into())),
        (0i64..9).prop_map(|w| Value::Dict(
            [(
                "Rect".to_owned(),
                Value::Dict(
                    [
                        ("w".to_owned(), Value::Int(w)),
                        ("h".to_owned(), Value::Int(2))
                    ]
                    .into_iter()
                    .collect()
                )
            )]
            .into_iter()
            .collect()
        )),
        (0i64..9)
            .prop_map(|x| Value::Dict([("x".to_owned(), Value::Int(x))].into_iter().collect())),
        Just(Value::List(vec![])),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn payloads_read_alike_from_bytes_and_through_values(
        args in proptest::collection::vec(small(), 0..4),
        kwargs in proptest::collection::vec(("[a-z]{1,2}", small()), 0..3),
    ) {
        let p = msgpack_payload(&args, &kwargs.into_iter().collect());
        reads_alike::<Value>(&p)?;
        reads_alike::<Vec<Value>>(&p)?;
        reads_alike::<(u64, Value)>(&p)?;
        reads_alike::<Option<i64>>(&p)?;
        reads_alike::<Option<Vec<u32>>>(&p)?;
        reads_alike::<String>(&p)?;
        reads_alike::<u8>(&p)?;
        reads_alike::<f64>(&p)?;
        reads_alike::<bool>(&p)?;
        reads_alike::<()>(&p)?;
        reads_alike::<Vec<u8>>(&p)?;
        reads_alike::<std::collections::HashMap<String, Value>>(&p)?;
        reads_alike::<Point>(&p)?;
        reads_alike::<Shape>(&p)?;
        reads_alike::<Level>(&p)?;
        reads_alike::<(Shape, Option<Point>)>(&p)?;
    }

    #[test]
    fn decode_of_encode_is_identity(msg in message()) {
        for ser in Serializer::ALL {
            let frame = ser.encode(&msg).expect("encode");
            let back = ser.decode(&frame).expect("decode");
            prop_assert_eq!(&back, &msg, "{}", ser);
        }
    }

    #[test]
    fn payloads_transcode_between_all_serializers(msg in message()) {
        for from in Serializer::ALL {
            let decoded = from.decode(&from.encode(&msg).expect("encode")).expect("decode");
            for to in Serializer::ALL {
                let back = to.decode(&to.encode(&decoded).expect("transcode")).expect("decode");
                prop_assert_eq!(&back, &msg, "{} -> {}", from, to);
            }
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let frame = Bytes::from(bytes);
        for ser in Serializer::ALL {
            let _ = ser.decode(&frame);
        }
    }

    #[test]
    fn corrupted_messages_never_panic(msg in message(), cut in any::<prop::sample::Index>(), flip in any::<u8>()) {
        for ser in Serializer::ALL {
            let frame = ser.encode(&msg).expect("encode").to_vec();
            let i = cut.index(frame.len());
            let mut truncated = frame.clone();
            truncated.truncate(i);
            let _ = ser.decode(&Bytes::from(truncated));
            let mut flipped = frame;
            flipped[i] ^= flip;
            let _ = ser.decode(&Bytes::from(flipped));
        }
    }
}

#[test]
fn malformed_frames_are_typed_errors() {
    let cases: &[(&str, &str)] = &[
        ("", "malformed"),
        ("{}", "array"),
        ("[]", "empty"),
        ("[999,1]", "unknown message type 999"),
        ("[\"x\"]", "integer"),
        ("[1,\"realm1\"]", "missing"),
        ("[1,\"realm1\",{},4]", "too many"),
        ("[1,5,{}]", "HELLO.Realm must be string"),
        ("[32,0,{},\"a.b\"]", "ID range"),
        ("[32,9007199254740993,{},\"a.b\"]", "ID range"),
        ("[32,-4,{},\"a.b\"]", "ID range"),
        ("[32,1.5,{},\"a.b\"]", "must be id"),
        ("[48,1,{},\"a.b\",{}]", "Arguments must be a list"),
        ("[48,1,{},\"a.b\",[],[]]", "ArgumentsKw must be a dict"),
        ("[48,1,{},\"a.b\",[],{},3]", "too many"),
        ("[48,1,{},\"a.b\",\"opaque\"]", "enc_algo"),
        ("[6,{},\"not a uri\"]", "GOODBYE.Reason is not a valid URI"),
        ("[3,{},\"\"]", "ABORT.Reason is not a valid URI"),
        ("[8,48,1,{},\"bad..uri\"]", "ERROR.Error is not a valid URI"),
        ("[48,1,{},\"a.b\",[\"\\u0000!!\"]]", ""),
    ];
    for (text, needle) in cases {
        let r = Serializer::Json.decode(&Bytes::from(text.as_bytes().to_vec()));
        match r {
            Err(e) => assert!(
                e.to_string().contains(needle),
                "{text}: {e} does not mention {needle:?}"
            ),
            // The last case: a bad binary string inside args is only found when the args
            // are read, since the router forwards them untouched.
            Ok(m) if needle.is_empty() => {
                if let Message::Call { payload, .. } = m {
                    assert!(payload.args_values().is_err());
                }
            }
            Ok(m) => panic!("{text}: accepted as {m:?}"),
        }
    }
    // Binary serializers: invalid UTF-8, truncated, and a length that lies.
    let bad_utf8: &[u8] = &[0x93, 0x01, 0xa2, 0xff, 0xfe, 0x80];
    assert!(Serializer::MsgPack
        .decode(&Bytes::from_static(bad_utf8))
        .is_err());
    let huge_array: &[u8] = &[0xdd, 0xff, 0xff, 0xff, 0xff];
    assert!(Serializer::MsgPack
        .decode(&Bytes::from_static(huge_array))
        .is_err());
    let cbor_huge: &[u8] = &[0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
    assert!(Serializer::Cbor
        .decode(&Bytes::from_static(cbor_huge))
        .is_err());
    let deep = vec![0x91u8; 100_000];
    assert!(Serializer::MsgPack.decode(&Bytes::from(deep)).is_err());
    let deep_cbor = vec![0x9fu8; 100_000];
    assert!(Serializer::Cbor.decode(&Bytes::from(deep_cbor)).is_err());
}

#[test]
fn option_values_are_checked_apart_from_decoding() {
    let text = b"[48,1,{\"timeout\":\"x\",\"x_mine\":1},\"a.b\"]";
    let m = Serializer::Json
        .decode(&Bytes::from_static(text))
        .expect("the envelope decodes: a router answers a bad option with ERROR");
    let e = m.check_options().unwrap_err();
    assert_eq!((e.message, e.key), ("CALL.Options", "timeout"));
    let ok = Serializer::Json
        .decode(&Bytes::from_static(
            b"[48,1,{\"timeout\":100,\"x_mine\":1},\"a.b\"]",
        ))
        .unwrap();
    assert_eq!(ok.check_options(), Ok(()), "unknown keys are ignored");
}

#[test]
fn request_zero_is_the_revocation_form_only() {
    let ok: &[&[u8]] = &[
        b"[67,0,{\"registration\":5,\"reason\":\"wamp.error.unregistered\"}]",
        b"[35,0,{\"subscription\":9}]",
    ];
    for text in ok {
        let m = Serializer::Json.decode(&Bytes::from_static(text)).unwrap();
        assert!(matches!(
            m,
            Message::Unregistered { request: 0, .. } | Message::Unsubscribed { request: 0, .. }
        ));
        for ser in [Serializer::MsgPack, Serializer::Cbor] {
            let frame = ser.encode(&m).unwrap();
            assert_eq!(ser.decode(&frame).unwrap(), m);
        }
    }
    let bad: &[&[u8]] = &[
        b"[67,0]",
        b"[67,0,{}]",
        b"[35,0,{\"registration\":5}]",
        b"[65,0,5]",
        b"[34,0,{},\"a.b\"]",
        b"[8,66,0,{},\"wamp.error.x\"]",
    ];
    for text in bad {
        let e = Serializer::Json.decode(&Bytes::from_static(text));
        assert!(e.is_err(), "{}", String::from_utf8_lossy(text));
    }
}
