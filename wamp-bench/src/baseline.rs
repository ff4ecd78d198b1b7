//! `baseline`: a deliberately minimal WebSocket relay that speaks just enough WAMP for the
//! `rpc` and `pubsub` scenarios (HELLO, REGISTER, CALL/YIELD, SUBSCRIBE, PUBLISH), with no
//! realms, no validation, no options: the practical limit of forwarding on this machine,
//! to measure a router against. It decodes each message once, encodes each forwarded
//! message once per serializer, and batches writes.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use parking_lot::Mutex;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Message as WsMessage, Utf8Bytes};
use wamp_runtime::proto::{Dict, Id, Message};
use wamp_runtime::Serializer;

/// Who is connected and what they registered and subscribed.
#[derive(Default)]
struct Relay {
    peers: HashMap<Id, (mpsc::UnboundedSender<WsMessage>, Serializer)>,
    callees: HashMap<String, (Vec<Id>, usize)>,
    subscribers: HashMap<String, Vec<Id>>,
    /// Invocation ID → (caller, the caller's request ID).
    calls: HashMap<Id, (Id, Id)>,
    next: Id,
}

impl Relay {
    fn id(&mut self) -> Id {
        self.next += 1;
        self.next
    }

    fn frame(serializer: Serializer, msg: &Message) -> Option<WsMessage> {
        let bytes = serializer.encode(msg).ok()?;
        Some(if serializer.is_binary() {
            WsMessage::Binary(bytes)
        } else {
            WsMessage::Text(Utf8Bytes::try_from(bytes).ok()?)
        })
    }

    fn send(&self, to: Id, msg: &Message) {
        if let Some((tx, ser)) = self.peers.get(&to) {
            if let Some(f) = Self::frame(*ser, msg) {
                let _ = tx.send(f);
            }
        }
    }

    fn handle(&mut self, from: Id, msg: Message) {
        match msg {
            Message::Hello { .. } => self.send(
                from,
                &Message::Welcome {
                    session: from,
                    details: Dict::new(),
                },
            ),
            Message::Register {
                request, procedure, ..
            } => {
                let entry = self.callees.entry(procedure).or_default();
                entry.0.push(from);
                let registration = self.id();
                self.send(
                    from,
                    &Message::Registered {
                        request,
                        registration,
                    },
                );
            }
            Message::Call {
                request,
                procedure,
                payload,
                ..
            } => {
                let callee = self.callees.get_mut(&procedure).and_then(|(list, rr)| {
                    *rr = rr.wrapping_add(1);
                    list.get(*rr % list.len().max(1)).copied()
                });
                if let Some(callee) = callee {
                    let invocation = self.id();
                    self.calls.insert(invocation, (from, request));
                    self.send(
                        callee,
                        &Message::Invocation {
                            request: invocation,
                            registration: 1,
                            details: Dict::new(),
                            payload,
                        },
                    );
                }
            }
            Message::Yield {
                request, payload, ..
            } => {
                if let Some((caller, req)) = self.calls.remove(&request) {
                    self.send(
                        caller,
                        &Message::Result {
                            request: req,
                            details: Dict::new(),
                            payload,
                        },
                    );
                }
            }
            Message::Subscribe { request, topic, .. } => {
                self.subscribers.entry(topic).or_default().push(from);
                let subscription = self.id();
                self.send(
                    from,
                    &Message::Subscribed {
                        request,
                        subscription,
                    },
                );
            }
            Message::Publish {
                request,
                topic,
                payload,
                ..
            } => {
                let publication = self.id();
                let event = Message::Event {
                    subscription: 1,
                    publication,
                    details: Dict::new(),
                    payload,
                };
                // One frame per serializer for the whole fan-out.
                let mut frames: HashMap<Serializer, WsMessage> = HashMap::new();
                for sid in self.subscribers.get(&topic).into_iter().flatten() {
                    if let Some((tx, ser)) = self.peers.get(sid) {
                        let f = frames.entry(*ser).or_insert_with(|| {
                            Self::frame(*ser, &event).unwrap_or(WsMessage::Binary(Bytes::new()))
                        });
                        let _ = tx.send(f.clone());
                    }
                }
                self.send(
                    from,
                    &Message::Published {
                        request,
                        publication,
                    },
                );
            }
            _ => {}
        }
    }

    fn leave(&mut self, id: Id) {
        self.peers.remove(&id);
        for (list, _) in self.callees.values_mut() {
            list.retain(|s| *s != id);
        }
        for list in self.subscribers.values_mut() {
            list.retain(|s| *s != id);
        }
    }
}

/// Serves the relay on `addr` until the process ends.
pub(crate) async fn serve(addr: SocketAddr) -> std::io::Result<()> {
    let listener = TcpListener::bind(addr).await?;
    println!(
        "baseline relay listening on ws://{}/ws",
        listener.local_addr()?
    );
    let relay = Arc::new(Mutex::new(Relay::default()));
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        tokio::spawn(connection(stream, relay.clone()));
    }
}

async fn connection(stream: TcpStream, relay: Arc<Mutex<Relay>>) {
    let mut chosen = Serializer::Json;
    #[allow(clippy::result_large_err)]
    let callback = |req: &Request, mut resp: Response| {
        let offered = req
            .headers()
            .get_all("sec-websocket-protocol")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .find_map(|p| Serializer::from_subprotocol(p.trim()));
        if let Some(ser) = offered {
            chosen = ser;
            resp.headers_mut().insert(
                "sec-websocket-protocol",
                HeaderValue::from_static(ser.subprotocol()),
            );
        }
        Ok(resp)
    };
    let config = WebSocketConfig::default().read_buffer_size(4096);
    let Ok(ws) =
        tokio_tungstenite::accept_hdr_async_with_config(stream, callback, Some(config)).await
    else {
        return;
    };
    let serializer = chosen;
    let (mut sink, mut source) = ws.split();
    let (tx, mut rx) = mpsc::unbounded_channel::<WsMessage>();
    let id = {
        let mut r = relay.lock();
        let id = r.id();
        r.peers.insert(id, (tx, serializer));
        id
    };
    let writer = tokio::spawn(async move {
        while let Some(first) = rx.recv().await {
            if sink.feed(first).await.is_err() {
                return;
            }
            while let Ok(more) = rx.try_recv() {
                if sink.feed(more).await.is_err() {
                    return;
                }
            }
            if sink.flush().await.is_err() {
                return;
            }
        }
    });
    while let Some(Ok(frame)) = source.next().await {
        let bytes = match frame {
            WsMessage::Binary(b) => b,
            WsMessage::Text(t) => Bytes::from(t),
            WsMessage::Close(_) => break,
            _ => continue,
        };
        if let Ok(msg) = serializer.decode(&bytes) {
            relay.lock().handle(id, msg);
        }
    }
    relay.lock().leave(id);
    writer.abort();
}
