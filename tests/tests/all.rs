//! Every integration test of the workspace's `tests` crate, in one test binary: each
//! module is one file of this directory (one feature, a real router on free loopback
//! ports, real clients and third-party peers). One binary links the router, the client
//! and their dependencies once instead of once per file, which keeps CI's disk and link
//! time small; the tests still run two at a time, as cargo ran them per file.
//!
//! Run one file's tests with `cargo test -p tests --test all auth::`.

mod auth;
mod authorization;
mod client_pubsub;
mod client_rpc;
mod client_session;
mod client_tls;
mod cluster_departures;
mod cluster_failure;
mod cluster_meta;
mod cluster_nats;
mod cluster_pubsub;
mod cluster_rpc;
mod cluster_store;
mod config_file;
mod crossbar_config;
mod crossbar_parity;
mod dynamic_auth;
mod dynamic_authorization;
mod event_history;
mod interop_autobahn;
mod interop_client;
mod interop_crossbar;
mod interop_defects;
mod interop_home;
mod limits;
mod longpoll;
mod meta;
mod metrics;
mod passthrough;
mod pubsub;
mod rawsocket;
mod reconnect;
mod reflection;
mod rpc;
mod service;
mod service_calls;
mod service_description;
mod service_errors;
mod service_items;
mod service_patterns;
mod service_wire;
mod session_lifecycle;
mod slow_peers;
mod static_files;
mod testament;
mod tls_listener;
mod topic;
mod topic_options;
mod ui;
mod validation;
mod websocket_frames;
