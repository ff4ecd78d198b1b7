//! Transports into the router: the WebSocket accept loop, in-process connections, and the
//! session loop they share.

pub(crate) mod connection;
pub(crate) mod memory;
pub(crate) mod websocket;
