//! Accept loops, one module per transport.

pub(crate) mod websocket;
