//! Putting an interface together, as a generated `interface()` does: procedures, the error
//! cases of their error types and the topics the service names, with one schema generator
//! so that a type used in several places is defined once.

use schemars::SchemaGenerator;

use super::format::{ErrorCase, Interface, Match, Payload, Procedure, Shape, Topic};
use super::schema::{generator, untyped};

/// Builds an [`Interface`] (called by generated code).
#[doc(hidden)]
pub struct Describer {
    interface: Interface,
    generator: SchemaGenerator,
}

impl Describer {
    /// An interface called `name`, with the trait's doc comment and URI prefix.
    pub fn new(name: &str, description: Option<String>, prefix: Option<String>) -> Self {
        let mut interface = Interface::new(name);
        interface.description = description;
        interface.prefix = prefix;
        Describer {
            interface,
            generator: generator(),
        }
    }

    /// The schema generator, for the types of a procedure.
    pub fn schemas(&mut self) -> &mut SchemaGenerator {
        &mut self.generator
    }

    /// Adds the cases of an error type; their URIs.
    pub fn errors(&mut self, cases: Vec<ErrorCase>) -> Vec<String> {
        let uris = cases.iter().map(|c| c.uri.clone()).collect();
        for case in cases {
            if self.interface.error(&case.uri).is_none() {
                self.interface.errors.push(case);
            }
        }
        uris
    }

    /// Adds a topic.
    pub fn topic(&mut self, topic: Topic) {
        if self.interface.topic(&topic.uri).is_none() {
            self.interface.topics.push(topic);
        }
    }

    /// Adds a procedure.
    pub fn procedure(&mut self, procedure: Procedure) {
        self.interface.procedures.push(procedure);
    }

    /// The interface, with the definitions its schemas refer to.
    pub fn finish(mut self) -> Interface {
        self.interface.defs = self.generator.take_definitions(true).into_iter().collect();
        self.interface
    }
}

/// A topic URI as written (`com.example.sensor.{room}.temperature`) as subscribed with
/// every placeholder open, and how that is matched.
pub fn open_pattern(uri: &str) -> (String, Match) {
    let mut open = false;
    let parts: Vec<&str> = uri
        .split('.')
        .map(|c| {
            if c.len() > 2 && c.starts_with('{') && c.ends_with('}') {
                open = true;
                ""
            } else {
                c
            }
        })
        .collect();
    let policy = if open { Match::Wildcard } else { Match::Exact };
    (parts.join("."), policy)
}

/// What is known of a topic type that describes nothing more: its URI, and a payload of
/// any shape.
pub fn bare_topic<T: ?Sized>(uri: &str) -> Topic {
    let (pattern, match_policy) = open_pattern(uri);
    Topic {
        uri: uri.to_owned(),
        pattern,
        match_policy,
        name: None,
        description: None,
        placeholders: Vec::new(),
        payload: Payload {
            shape: Shape::Auto,
            schema: untyped(std::any::type_name::<T>()),
        },
    }
}
