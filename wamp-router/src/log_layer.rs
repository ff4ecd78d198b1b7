//! The router binary's log lines: one line per event, as text or as a JSON object, with
//! the fields of the spans it happened in (a session's peer, ID, realm, authid, authrole).
//!
//! tracing-subscriber's own formatting layer keeps a span's formatted fields in an
//! extension map it allocates inside the span registry's slot. The registry keeps every
//! slot it ever used, and each slot its map, so after a storm of 10,000 sessions those
//! small maps stayed behind, scattered among the pages the sessions' objects had used,
//! and kept the allocator from returning them (resident memory after the sessions left:
//! 2 × the start, against 1.3 × without session spans). This layer keeps the fields in
//! one table of its own instead, which gives its memory back as spans close.

use std::collections::hash_map::Entry;
use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::{Mutex, MutexGuard, PoisonError};

use foldhash::{HashMap, HashMapExt};
use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::{DefaultFields, Writer};
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FormatFields, MakeWriter};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

use crate::sparse::shrink_when_sparse;

/// A [`Layer`] writing each event as one line, to stderr unless told otherwise.
///
/// Text lines read like tracing-subscriber's default format
/// (`TIME LEVEL span{fields}: target: message fields`); JSON lines are objects with
/// `timestamp`, `level`, `fields` (the message under `message`), `target` and, inside a
/// span, `span` (the innermost span's fields and its `name`).
///
/// ```no_run
/// use tracing_subscriber::layer::SubscriberExt;
/// use tracing_subscriber::util::SubscriberInitExt;
///
/// tracing_subscriber::registry()
///     .with(tracing_subscriber::EnvFilter::new("info"))
///     .with(wamp_router::LogLayer::json())
///     .init();
/// ```
pub struct LogLayer<W = fn() -> std::io::Stderr> {
    style: Style,
    ansi: bool,
    writer: W,
    spans: Mutex<HashMap<Id, Fields>>,
}

/// Text or JSON.
#[derive(Debug, Clone, Copy)]
enum Style {
    Text,
    Json,
}

/// A live span's fields, formatted for the layer's style.
enum Fields {
    /// `key=value` pairs as tracing-subscriber's default field format writes them.
    Text(String),
    Json(Map<String, Value>),
}

impl LogLayer {
    /// Lines of text.
    pub fn text() -> Self {
        Self::new(Style::Text)
    }

    /// Lines that are JSON objects.
    pub fn json() -> Self {
        Self::new(Style::Json)
    }

    fn new(style: Style) -> Self {
        LogLayer {
            style,
            ansi: false,
            writer: std::io::stderr,
            spans: Mutex::new(HashMap::new()),
        }
    }
}

impl<W> LogLayer<W> {
    /// Colours text lines' levels (for a terminal); off by default, no effect on JSON.
    pub fn with_ansi(mut self, ansi: bool) -> Self {
        self.ansi = ansi;
        self
    }

    /// Writes lines where `writer` says instead of stderr; each line is one `write_all`.
    pub fn with_writer<W2>(self, writer: W2) -> LogLayer<W2> {
        LogLayer {
            style: self.style,
            ansi: self.ansi,
            writer,
            spans: self.spans,
        }
    }

    fn table(&self) -> MutexGuard<'_, HashMap<Id, Fields>> {
        self.spans.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// How many spans' fields the layer holds (for tests).
    #[cfg(test)]
    fn held(&self) -> (usize, usize) {
        let table = self.table();
        (table.len(), table.capacity())
    }

    fn text_line<S>(&self, event: &Event<'_>, ctx: &Context<'_, S>) -> String
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        let mut line = String::with_capacity(192);
        let _ = SystemTime.format_time(&mut Writer::new(&mut line));
        line.push(' ');
        let level = match *event.metadata().level() {
            Level::TRACE => ("TRACE", "35"),
            Level::DEBUG => ("DEBUG", "34"),
            Level::INFO => (" INFO", "32"),
            Level::WARN => (" WARN", "33"),
            Level::ERROR => ("ERROR", "31"),
        };
        if self.ansi {
            let _ = write!(line, "\x1b[{}m{}\x1b[0m ", level.1, level.0);
        } else {
            line.push_str(level.0);
            line.push(' ');
        }
        if let Some(scope) = ctx.event_scope(event) {
            let table = self.table();
            for span in scope.from_root() {
                line.push_str(span.name());
                if let Some(Fields::Text(fields)) = table.get(&span.id()) {
                    if !fields.is_empty() {
                        line.push('{');
                        line.push_str(fields);
                        line.push('}');
                    }
                }
                line.push(':');
            }
            if line.ends_with(':') {
                line.push(' ');
            }
        }
        line.push_str(event.metadata().target());
        line.push_str(": ");
        let _ = DefaultFields::new().format_fields(Writer::new(&mut line), event);
        line.push('\n');
        line
    }

    fn json_line<S>(&self, event: &Event<'_>, ctx: &Context<'_, S>) -> String
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        let mut timestamp = String::with_capacity(32);
        let _ = SystemTime.format_time(&mut Writer::new(&mut timestamp));
        let mut fields = Map::new();
        event.record(&mut JsonFields(&mut fields));
        let mut line = String::with_capacity(256);
        line.push_str("{\"timestamp\":");
        line.push_str(&Value::String(timestamp).to_string());
        line.push_str(",\"level\":");
        line.push_str(&Value::from(event.metadata().level().as_str()).to_string());
        line.push_str(",\"fields\":");
        line.push_str(&Value::Object(fields).to_string());
        line.push_str(",\"target\":");
        line.push_str(&Value::from(event.metadata().target()).to_string());
        if let Some(span) = ctx.event_span(event) {
            let mut fields = match self.table().get(&span.id()) {
                Some(Fields::Json(fields)) => fields.clone(),
                _ => Map::new(),
            };
            fields.insert("name".into(), span.name().into());
            line.push_str(",\"span\":");
            line.push_str(&Value::Object(fields).to_string());
        }
        line.push_str("}\n");
        line
    }
}

impl<S, W> Layer<S> for LogLayer<W>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, _: Context<'_, S>) {
        let fields = match self.style {
            Style::Text => {
                let mut text = String::new();
                let _ = DefaultFields::new().format_fields(Writer::new(&mut text), attrs);
                Fields::Text(text)
            }
            Style::Json => {
                let mut map = Map::new();
                attrs.record(&mut JsonFields(&mut map));
                Fields::Json(map)
            }
        };
        self.table().insert(id.clone(), fields);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, _: Context<'_, S>) {
        match self.style {
            Style::Text => {
                let mut more = String::new();
                let _ = DefaultFields::new().format_fields(Writer::new(&mut more), values);
                if more.is_empty() {
                    return;
                }
                if let Some(Fields::Text(fields)) = self.table().get_mut(id) {
                    if !fields.is_empty() {
                        fields.push(' ');
                    }
                    fields.push_str(&more);
                }
            }
            Style::Json => {
                if let Some(Fields::Json(fields)) = self.table().get_mut(id) {
                    values.record(&mut JsonFields(fields));
                }
            }
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let line = match self.style {
            Style::Text => self.text_line(event, &ctx),
            Style::Json => self.json_line(event, &ctx),
        };
        // A log line that cannot be written has nowhere better to go.
        let _ = self
            .writer
            .make_writer_for(event.metadata())
            .write_all(line.as_bytes());
    }

    fn on_close(&self, id: Id, _: Context<'_, S>) {
        let mut table = self.table();
        if let Entry::Occupied(span) = table.entry(id) {
            span.remove();
            shrink_when_sparse(&mut table);
        }
    }
}

/// Records fields into a JSON object: numbers and booleans as themselves, the rest as
/// strings (`Debug`-formatted values as their `Debug` text).
struct JsonFields<'a>(&'a mut Map<String, Value>);

impl Visit for JsonFields<'_> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.0.insert(field.name().into(), value.to_string().into());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0
            .insert(field.name().into(), format!("{value:?}").into());
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::layer::SubscriberExt;

    use super::*;

    /// Collects the lines written.
    #[derive(Clone, Default)]
    struct Capture(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Capture {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Capture {
        type Writer = Capture;
        fn make_writer(&'a self) -> Capture {
            self.clone()
        }
    }

    impl Capture {
        fn lines(&self) -> Vec<String> {
            let bytes = self.0.lock().unwrap();
            String::from_utf8(bytes.clone())
                .unwrap()
                .lines()
                .map(str::to_owned)
                .collect()
        }
    }

    /// Logs one event in a session-like span whose identity is recorded after it opens.
    fn log_in_a_session(layer: LogLayer<Capture>) {
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!(
                "session",
                peer = %"tcp4:127.0.0.1:5000",
                session = tracing::field::Empty,
                realm = tracing::field::Empty,
            );
            let _entered = span.enter();
            span.record("session", 42u64);
            span.record("realm", "realm1");
            tracing::info!(authmethod = "anonymous", size = 3, "session joined");
        });
    }

    #[test]
    fn a_text_line_carries_the_level_span_fields_target_and_message() {
        let capture = Capture::default();
        log_in_a_session(LogLayer::text().with_writer(capture.clone()));
        let lines = capture.lines();
        assert_eq!(lines.len(), 1, "{lines:?}");
        let line = &lines[0];
        let rest = line
            .split_once("Z  INFO ")
            .expect("a timestamp and level")
            .1;
        assert_eq!(
            rest,
            "session{peer=tcp4:127.0.0.1:5000 session=42 realm=\"realm1\"}: \
             wamp_router::log_layer::tests: session joined authmethod=\"anonymous\" size=3"
        );
    }

    #[test]
    fn a_json_line_is_an_object_with_the_current_span_under_span() {
        let capture = Capture::default();
        log_in_a_session(LogLayer::json().with_writer(capture.clone()));
        let lines = capture.lines();
        assert_eq!(lines.len(), 1, "{lines:?}");
        let line: Value = serde_json::from_str(&lines[0]).unwrap();
        assert_eq!(line["level"], "INFO");
        assert_eq!(line["target"], "wamp_router::log_layer::tests");
        assert_eq!(line["fields"]["message"], "session joined");
        assert_eq!(line["fields"]["authmethod"], "anonymous");
        assert_eq!(line["fields"]["size"], 3);
        assert_eq!(line["span"]["name"], "session");
        assert_eq!(line["span"]["peer"], "tcp4:127.0.0.1:5000");
        assert_eq!(line["span"]["session"], 42);
        assert_eq!(line["span"]["realm"], "realm1");
        assert!(line["timestamp"].as_str().unwrap().ends_with('Z'));
    }

    #[test]
    fn an_event_outside_spans_has_no_span_part_and_control_characters_are_escaped() {
        let capture = Capture::default();
        let subscriber = tracing_subscriber::registry()
            .with(LogLayer::text().with_writer(capture.clone()))
            .with(LogLayer::json().with_writer(capture.clone()));
        tracing::subscriber::with_default(subscriber, || {
            tracing::warn!(uri = "a\nb\x1b[31m", "bad");
        });
        let lines = capture.lines();
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(
            lines[0].ends_with(" WARN wamp_router::log_layer::tests: bad uri=\"a\\nb\\u{1b}[31m\""),
            "{}",
            lines[0]
        );
        let json: Value = serde_json::from_str(&lines[1]).unwrap();
        assert_eq!(json["fields"]["uri"], "a\nb\x1b[31m");
        assert!(json.get("span").is_none());
    }

    #[test]
    fn the_fields_of_closed_spans_are_let_go() {
        let capture = Capture::default();
        let subscriber =
            tracing_subscriber::registry().with(LogLayer::text().with_writer(capture.clone()));
        let dispatch = tracing::Dispatch::new(subscriber);
        tracing::dispatcher::with_default(&dispatch, || {
            let spans: Vec<_> = (0..10_000)
                .map(|i| tracing::info_span!("session", session = i))
                .collect();
            let layer = dispatch.downcast_ref::<LogLayer<Capture>>().unwrap();
            let (held, full) = layer.held();
            assert_eq!(held, 10_000);
            drop(spans);
            let (held, capacity) = layer.held();
            assert_eq!(held, 0);
            assert!(capacity < full / 100, "{capacity} of {full}");
        });
    }
}
