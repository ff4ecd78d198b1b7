//! The server's side of the WebSocket opening handshake (RFC 6455 §4.2), on a request head
//! already read: the checks, the WAMP subprotocol chosen, and the response's bytes.

use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use wamp_runtime::Serializer;

use crate::listener::settings::ListenerContext;
use crate::listener::web::{plain_response, Head};

/// An upgrade accepted: the serializer its subprotocol names, and the `101` response.
pub(super) struct Accepted {
    pub serializer: Serializer,
    pub response: Vec<u8>,
}

/// Answers an upgrade request for `ctx`'s endpoint: `Ok` with the `101` response, or `Err`
/// with the HTTP response that refuses it. `admitted` is false when the listener serves as
/// many connections as it may.
pub(super) fn answer(
    head: &Head,
    ctx: &ListenerContext,
    admitted: bool,
) -> Result<Accepted, Vec<u8>> {
    let ws = &head.websocket;
    if head.method != "GET" {
        return Err(plain_response(
            "405 Method Not Allowed",
            "a WebSocket upgrade is a GET\n",
            "",
        ));
    }
    let Some(key) = ws.key.as_deref().filter(|_| ws.connection_upgrade) else {
        let text =
            "not a WebSocket upgrade: Connection: Upgrade and Sec-WebSocket-Key are needed\n";
        return Err(plain_response("400 Bad Request", text, ""));
    };
    if ws.version.as_deref() != Some("13") {
        let text = "this server speaks WebSocket version 13\n";
        return Err(plain_response(
            "426 Upgrade Required",
            text,
            "sec-websocket-version: 13\r\n",
        ));
    }
    if !admitted {
        let text = "this listener serves as many sessions as it may; try again later\n";
        return Err(plain_response("503 Service Unavailable", text, ""));
    }
    // The client's order of preference decides, among what this listener allows.
    let chosen = ws
        .protocols
        .iter()
        .filter_map(|p| Serializer::from_subprotocol(p))
        .find(|s| ctx.allows(*s));
    let Some(serializer) = chosen else {
        let offered: Vec<&str> = ctx.serializers.iter().map(|s| s.subprotocol()).collect();
        let text = format!(
            "no supported WAMP subprotocol offered: use one of {}\n",
            offered.join(", ")
        );
        return Err(plain_response("400 Bad Request", &text, ""));
    };
    let response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-accept: {}\r\nsec-websocket-protocol: {}\r\n\r\n",
        derive_accept_key(key.as_bytes()),
        serializer.subprotocol()
    );
    Ok(Accepted {
        serializer,
        response: response.into_bytes(),
    })
}
