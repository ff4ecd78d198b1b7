//! The home contract: a service whose procedures are shaped as Autobahn and Crossbar
//! users write them (keyword arguments in and out), with the room of a light switch in
//! the procedure's URI, the spec's `wamp.error.not_authorized` for a door only admins
//! open, and the temperature topic it publishes.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use wamp_runtime::{service, CallContext, WampError};

pub use crate::sensors::{Temperature, TemperatureKey};

/// What a reading of a room says; travels as keyword arguments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Reading {
    /// The room read.
    pub room: String,
    /// The temperature, in `unit`.
    pub temperature: f64,
    /// `C` or `F`.
    pub unit: String,
}

/// What can go wrong at home.
#[derive(Debug, Clone, PartialEq, WampError)]
pub enum HomeError {
    /// The spec's own error: the caller's role may not do this.
    #[wamp(uri = "wamp.error.not_authorized")]
    NotAuthorized(String),
    /// No such room in this home.
    #[wamp(uri = "com.example.home.no_such_room")]
    NoSuchRoom(String),
    /// Anything a newer home may answer that this contract does not know yet.
    #[wamp(other)]
    Other(WampError),
}

/// The home service.
#[service(prefix = "com.example.home", topics(Temperature))]
pub trait Home {
    /// Reads a room, called with keyword arguments and answering with keyword results,
    /// as Autobahn writes it: `read(room="kitchen", unit="F")` gives
    /// `{room, temperature, unit}` (`unit` may be left out: Celsius).
    #[wamp(kwargs, result = "kwargs")]
    async fn read(&self, room: String, unit: Option<String>) -> Result<Reading, HomeError>;
    /// Switches the light of a room; the room is in the URI:
    /// `com.example.home.light.kitchen.switch(true)`.
    #[wamp(uri = "com.example.home.light.{room}.switch")]
    async fn switch(&self, room: String, on: bool) -> Result<bool, HomeError>;
    /// Unlocks the front door, for callers of the `admin` role only.
    #[wamp(disclose_caller)]
    async fn unlock(&self, ctx: CallContext) -> Result<String, HomeError>;
}

/// A home with a kitchen and a hall.
#[derive(Debug, Default)]
pub struct House;

const ROOMS: [(&str, f64); 2] = [("kitchen", 21.5), ("hall", 18.0)];

fn room(name: &str) -> Result<f64, HomeError> {
    ROOMS
        .iter()
        .find(|(r, _)| *r == name)
        .map(|(_, celsius)| *celsius)
        .ok_or_else(|| HomeError::NoSuchRoom(name.to_owned()))
}

impl Home for House {
    async fn read(&self, room_name: String, unit: Option<String>) -> Result<Reading, HomeError> {
        let celsius = room(&room_name)?;
        let (temperature, unit) = match unit.as_deref() {
            Some("F") => (celsius * 9.0 / 5.0 + 32.0, "F"),
            _ => (celsius, "C"),
        };
        Ok(Reading {
            room: room_name,
            temperature,
            unit: unit.to_owned(),
        })
    }

    async fn switch(&self, room_name: String, on: bool) -> Result<bool, HomeError> {
        room(&room_name)?;
        Ok(on)
    }

    async fn unlock(&self, ctx: CallContext) -> Result<String, HomeError> {
        match ctx.caller_authrole.as_deref() {
            Some("admin") => Ok("the door is open".into()),
            role => Err(HomeError::NotAuthorized(format!(
                "only admins open the door, not {}",
                role.unwrap_or("an undisclosed caller")
            ))),
        }
    }
}
