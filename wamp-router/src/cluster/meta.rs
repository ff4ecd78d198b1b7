//! The meta API over the whole cluster: a node asks every other live node for its own
//! answer to a meta procedure (its sessions, its subscribers) and combines them with its
//! own. Asked on `wr.<cluster>.n.<node>.m`, answered from the realm's tables under its
//! lock, bounded in time: a node that does not answer in time is left out.

use std::time::Duration;

use bytes::Bytes;
use wamp_runtime::proto::{Dict, Id, List, Value};
use wamp_runtime::Serializer;

use super::{Node, RealmLink};

/// How long a node waits for the others' answers.
const ASK_WAIT: Duration = Duration::from_secs(1);

/// One node's answer: the result's arguments, or an error URI and text.
pub(crate) type Answer = Result<List, (String, String)>;

fn encode(v: &Value) -> Bytes {
    let mut out = Vec::new();
    match Serializer::MsgPack.encode_value(v, &mut out) {
        Ok(()) => Bytes::from(out),
        Err(_) => Bytes::new(),
    }
}

impl RealmLink {
    /// The other live nodes' answers to meta procedure `procedure` called by `caller`.
    pub async fn ask_all(
        &self,
        caller: Id,
        procedure: &str,
        args: &List,
        kwargs: &Dict,
    ) -> Vec<Answer> {
        let mut ask = Dict::new();
        ask.insert("realm".into(), Value::Str(self.realm.to_string()));
        ask.insert("procedure".into(), Value::Str(procedure.to_owned()));
        ask.insert("caller".into(), Value::from(caller));
        ask.insert("args".into(), Value::List(args.clone()));
        ask.insert("kwargs".into(), Value::Dict(kwargs.clone()));
        let ask = encode(&Value::Dict(ask));
        let node = &self.node;
        let asks = node.members.others().into_iter().map(|peer| {
            let subject = format!("{}.n.{peer}.m", node.prefix);
            let request = node.client.request(subject, ask.clone());
            async move {
                match tokio::time::timeout(ASK_WAIT, request).await {
                    Ok(Ok(msg)) => decode_answer(&msg.payload),
                    Ok(Err(e)) => {
                        tracing::debug!(node = %peer, "cluster meta: {e}");
                        None
                    }
                    Err(_) => {
                        tracing::warn!(node = %peer, "cluster meta: no answer in time");
                        None
                    }
                }
            }
        });
        futures_util::future::join_all(asks)
            .await
            .into_iter()
            .flatten()
            .collect()
    }
}

fn decode_answer(bytes: &[u8]) -> Option<Answer> {
    let Ok(Value::Dict(d)) = Serializer::MsgPack.decode_value(bytes) else {
        return None;
    };
    if let Some(Value::List(l)) = d.get("ok") {
        return Some(Ok(l.clone()));
    }
    let text = |k: &str| {
        d.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    Some(Err((text("error"), text("message"))))
}

/// Answers another node's meta question from this node's realm.
pub(super) fn answer(node: &Node, msg: async_nats::Message) {
    let Some(reply) = msg.reply.clone() else {
        return;
    };
    let Ok(Value::Dict(ask)) = Serializer::MsgPack.decode_value(&msg.payload) else {
        return;
    };
    let text = |k: &str| ask.get(k).and_then(Value::as_str).unwrap_or_default();
    let Some(realm) = node.realm(text("realm")) else {
        return;
    };
    let caller = ask
        .get("caller")
        .and_then(Value::as_u64)
        .unwrap_or_default();
    let args = ask
        .get("args")
        .and_then(Value::as_list)
        .cloned()
        .unwrap_or_default();
    let kwargs = ask
        .get("kwargs")
        .and_then(Value::as_dict)
        .cloned()
        .unwrap_or_default();
    let mut out = Dict::new();
    match realm.meta_here(caller, text("procedure"), args, kwargs) {
        Ok(list) => {
            out.insert("ok".into(), Value::List(list));
        }
        Err((uri, message)) => {
            out.insert("error".into(), Value::Str(uri.to_owned()));
            out.insert("message".into(), Value::Str(message));
        }
    }
    let client = node.client.clone();
    let bytes = encode(&Value::Dict(out));
    node.tasks.spawn(async move {
        if let Err(e) = client.publish(reply, bytes).await {
            tracing::debug!("cluster meta: answer not sent: {e}");
        }
    });
}
