//! Transports into the router: the WebSocket and RawSocket accept loops, HTTP long-poll,
//! in-process connections, and the session loop they share.

pub(crate) mod bind;
pub(crate) mod connection;
pub(crate) mod idle_read;
pub(crate) mod longpoll;
pub(crate) mod memory;
pub(crate) mod rawsocket;
pub(crate) mod settings;
pub(crate) mod web;
pub(crate) mod websocket;
