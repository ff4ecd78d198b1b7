//! The protocol core: messages, values, payloads, URIs, IDs and the spec's codes.

pub mod codes;
pub mod id;
pub mod message;
pub mod options;
pub mod payload;
pub mod roles;
pub mod uri;
pub mod value;

pub use codes::{close, code, error};
pub use id::{global_id, is_valid_id, Id, IdSequence, MAX_ID};
pub use message::Message;
pub use options::{
    CallOptions, CancelMode, CancelOptions, ErrorDetails, InvokePolicy, OptionError, Passthru,
    PublishOptions, RegisterOptions, SubscribeOptions, YieldOptions,
};
pub use payload::{Payload, PayloadValues};
pub use uri::{is_valid_pattern, is_valid_uri, MatchPolicy, UriRule};
pub use value::{from_value, to_value, Dict, List, Value, ValueError};
