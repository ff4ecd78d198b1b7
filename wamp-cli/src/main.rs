//! `wamp`: work with any WAMP router from a shell.
//!
//! ```sh
//! wamp call com.example.add 2 3
//! wamp publish com.example.news '"hello"' --kw source=cli
//! wamp subscribe com.example. --match prefix          # one JSON line per event
//! wamp register com.example.date --exec 'date -u'     # answers with the command's output
//! wamp sessions                                       # sessions, registrations, subscriptions
//! wamp describe com.example.calc                      # the services' interfaces (--json)
//! wamp codegen typescript --from calc.json --out calc.ts   # a typed Autobahn|JS client
//! ```
//!
//! Exit codes: 0 done; 1 the router or a callee answered with an ERROR; 2 the command line
//! is wrong; 3 the router could not be reached or refused the session; 4 no answer in time.

use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use wamp_cli::{args_from, args_json, parse_kwarg, render_result, to_json, ConnectOpts};
use wamp_runtime::client::Error as ClientError;
use wamp_runtime::{Args, CallDetails, MatchPolicy, Session, StreamExt, Value, WampError};

/// Work with a WAMP router from a shell.
#[derive(Debug, Parser)]
#[command(name = "wamp", version, after_help = EXIT_CODES)]
struct Cli {
    #[command(flatten)]
    connect: ConnectOpts,
    /// Seconds to wait for the router (connecting, and each answer).
    #[arg(long, global = true, default_value_t = 10.0)]
    timeout: f64,
    #[command(subcommand)]
    command: Command,
}

const EXIT_CODES: &str = "Exit codes: 0 done; 1 the router or a callee answered with an ERROR; \
2 the command line is wrong; 3 the router could not be reached or refused the session; \
4 no answer in time.";

#[derive(Debug, Subcommand)]
enum Command {
    /// Calls a procedure and prints its result as JSON (nothing for an empty result, the
    /// value of a single argument, an array for several, {"args","kwargs"} with keyword
    /// arguments).
    Call {
        /// The procedure.
        uri: String,
        /// Positional arguments: JSON where they are JSON, strings otherwise.
        args: Vec<String>,
        /// A keyword argument, key=value (repeatable).
        #[arg(long = "kw", value_name = "KEY=VALUE", value_parser = parse_kwarg)]
        kwargs: Vec<(String, Value)>,
    },
    /// Publishes an event (acknowledged, so that a refusal is reported).
    Publish {
        /// The topic.
        uri: String,
        /// Positional arguments: JSON where they are JSON, strings otherwise.
        args: Vec<String>,
        /// A keyword argument, key=value (repeatable).
        #[arg(long = "kw", value_name = "KEY=VALUE", value_parser = parse_kwarg)]
        kwargs: Vec<(String, Value)>,
        /// Do not ask the router to acknowledge the publication.
        #[arg(long)]
        no_ack: bool,
    },
    /// Subscribes and prints one JSON line per event ({"topic", "publication", "args",
    /// "kwargs"}) until interrupted.
    Subscribe {
        /// The topic, or a pattern with --match.
        uri: String,
        /// How the topic matches: exact, prefix or wildcard.
        #[arg(long = "match", default_value = "exact", value_parser = parse_policy)]
        policy: MatchPolicy,
        /// Exit after this many events.
        #[arg(long)]
        count: Option<u64>,
    },
    /// Registers a procedure and answers each call by running a shell command: the call's
    /// arguments are the command's positional parameters ($1, $2…; strings as they are,
    /// other values as JSON), and WAMP_ARGS, WAMP_KWARGS and WAMP_PROCEDURE are in its
    /// environment. Its standard output is the result (JSON where it is JSON, else a
    /// string); a non-zero exit answers ERROR wamp.error.runtime_error with its standard
    /// error. Runs until interrupted.
    Register {
        /// The procedure, or a pattern with --match.
        uri: String,
        /// The shell command (run with sh -c).
        #[arg(long)]
        exec: String,
        /// How the procedure matches: exact, prefix or wildcard.
        #[arg(long = "match", default_value = "exact", value_parser = parse_policy)]
        policy: MatchPolicy,
    },
    /// Prints the realm's sessions, registrations and subscriptions as one JSON document,
    /// from the WAMP meta API.
    Sessions,
    /// Prints what the router knows of its services' interfaces (procedures, topics,
    /// errors, with their types), from the reflection API; from a router without one
    /// (Crossbar.io), from the description a service serves as `{prefix}._description`
    /// (give that prefix).
    Describe {
        /// A URI or URI prefix (`com.example.calc`), or a concrete URI of a pattern
        /// procedure; everything when left out.
        uri: Option<String>,
        /// Print JSON: {"procedures": [...], "topics": [...], "errors": [...]}, each
        /// description as the reflection API gives it.
        #[arg(long)]
        json: bool,
    },
    /// Writes a typed client for another language from interface descriptions: read
    /// from files (`--from`, as a contract crate exports them), else from the router
    /// (the reflection API, or a service's `{prefix}._description`).
    Codegen {
        #[command(subcommand)]
        target: Target,
    },
}

/// The languages `wamp codegen` writes.
#[derive(Debug, Subcommand)]
enum Target {
    /// A TypeScript module over Autobahn|JS: a class per service, an error class per
    /// error URI, a class per topic.
    Typescript {
        /// What to generate from the router: a URI or prefix (everything when left out).
        uri: Option<String>,
        /// A description file (one interface, or a JSON array of them); repeatable. No
        /// router is needed then.
        #[arg(long, value_name = "FILE")]
        from: Vec<std::path::PathBuf>,
        /// Write the module here instead of to standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<std::path::PathBuf>,
    },
}

fn parse_policy(s: &str) -> Result<MatchPolicy, String> {
    MatchPolicy::parse(s).ok_or_else(|| format!("{s:?}: use exact, prefix or wildcard"))
}

/// Why a command failed, and the exit code that says so.
#[derive(Debug, thiserror::Error)]
enum Failure {
    #[error("{0}")]
    Wamp(WampError),
    #[error("cannot join {realm} at {url}: {source}")]
    Connect {
        url: String,
        realm: String,
        source: ClientError,
    },
    #[error("{0}")]
    Timeout(ClientError),
    #[error("{0}")]
    Other(ClientError),
    /// A file to read or write, or what it holds.
    #[error("{0}")]
    Input(String),
}

impl Failure {
    fn code(&self) -> u8 {
        match self {
            Failure::Wamp(_) => 1,
            Failure::Connect { .. } => 3,
            Failure::Timeout(_) => 4,
            Failure::Other(_) => 1,
            Failure::Input(_) => 2,
        }
    }
}

impl From<ClientError> for Failure {
    fn from(e: ClientError) -> Self {
        match e {
            ClientError::Application(w) => Failure::Wamp(*w),
            e @ ClientError::Timeout(_) => Failure::Timeout(e),
            e => Failure::Other(e),
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    wamp_cli::init_logs();
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("wamp: {e}");
            ExitCode::from(e.code())
        }
    }
}

async fn run(cli: Cli) -> Result<(), Failure> {
    let timeout = Duration::from_secs_f64(cli.timeout.max(0.001));
    if let Command::Codegen {
        target: Target::Typescript { from, out, .. },
    } = &cli.command
    {
        if !from.is_empty() {
            let interfaces = wamp_cli::codegen::read_files(from).map_err(Failure::Input)?;
            let contract = wamp_cli::codegen::Contract::from_interfaces(&interfaces);
            return write_module(&contract, out.as_deref());
        }
    }
    let session = cli
        .connect
        .session()
        .connect_timeout(timeout)
        .request_timeout(timeout)
        .connect()
        .await
        .map_err(|source| Failure::Connect {
            url: cli.connect.url.clone(),
            realm: cli.connect.realm.clone(),
            source,
        })?;
    if cli.connect.reconnects() {
        wamp_cli::report_lifecycle(&session, "wamp");
    }
    let result = match cli.command {
        Command::Call { uri, args, kwargs } => {
            let result: Args = session
                .call(uri, args_from(&args, &kwargs))
                .timeout(timeout)
                .await?;
            if let Some(line) = render_result(&result) {
                println!("{line}");
            }
            Ok(())
        }
        Command::Publish {
            uri,
            args,
            kwargs,
            no_ack,
        } => {
            let publish = session.publish(uri, args_from(&args, &kwargs));
            if no_ack {
                publish.await?;
            } else {
                publish.acknowledge().await?;
            }
            Ok(())
        }
        Command::Subscribe { uri, policy, count } => subscribe(&session, uri, policy, count).await,
        Command::Register { uri, exec, policy } => register(&session, uri, exec, policy).await,
        Command::Sessions => sessions(&session, timeout).await,
        Command::Describe { uri, json } => describe(&session, uri.as_deref(), json, timeout).await,
        Command::Codegen {
            target: Target::Typescript { uri, out, .. },
        } => {
            let found = wamp_cli::describe::fetch(&session, uri.as_deref(), timeout).await?;
            if found.is_empty() {
                Err(Failure::Input(
                    "the router describes nothing to generate from".into(),
                ))
            } else {
                let contract = wamp_cli::codegen::Contract::from_described(&found);
                write_module(&contract, out.as_deref())
            }
        }
    };
    let _ = session.leave().await;
    result
}

/// Prints events until interrupted (or `count` of them).
async fn subscribe(
    session: &Session,
    uri: String,
    policy: MatchPolicy,
    count: Option<u64>,
) -> Result<(), Failure> {
    let mut events = session
        .subscribe::<Args>(uri.clone())
        .match_policy(policy)
        .await?;
    eprintln!("wamp: subscribed to {uri}");
    let mut seen = 0;
    while count.is_none_or(|n| seen < n) {
        let event = tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            e = events.next() => e,
        };
        let Some(event) = event else {
            return Err(Failure::Other(ClientError::Closed(session.closed().await)));
        };
        let event = event?;
        let mut line = args_json(&event.data);
        line["topic"] = serde_json::Value::String(event.details.topic.unwrap_or(uri.clone()));
        line["publication"] = serde_json::json!(event.details.publication);
        println!("{line}");
        seen += 1;
    }
    Ok(())
}

/// Answers calls with a shell command until interrupted.
async fn register(
    session: &Session,
    uri: String,
    exec: String,
    policy: MatchPolicy,
) -> Result<(), Failure> {
    let handler = move |args: Args, details: CallDetails| {
        let exec = exec.clone();
        async move { run_command(&exec, &args, &details.procedure).await }
    };
    let registration = session
        .register(uri.clone(), handler)
        .match_policy(policy)
        .await?;
    eprintln!("wamp: registered {uri} ({})", registration.id());
    tokio::select! {
        _ = tokio::signal::ctrl_c() => Ok(()),
        why = session.closed() => Err(Failure::Other(ClientError::Closed(why))),
        // Another session took the procedure (force_reregister), or an administrator
        // removed it: nothing is left to serve.
        reason = registration.revocation() => Err(Failure::Wamp(WampError::with_message(
            reason,
            format!("the router took {uri} away"),
        ))),
    }
}

/// Runs `exec` for one invocation.
async fn run_command(exec: &str, args: &Args, procedure: &str) -> Result<Value, WampError> {
    let words = args.args.iter().map(|v| match v {
        Value::Str(s) => s.clone(),
        other => to_json(other).to_string(),
    });
    let all = args_json(args);
    let output = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(exec)
        .arg("wamp")
        .args(words)
        .env("WAMP_ARGS", all["args"].to_string())
        .env("WAMP_KWARGS", all["kwargs"].to_string())
        .env("WAMP_PROCEDURE", procedure)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| {
            WampError::with_message(
                wamp_runtime::proto::error::RUNTIME_ERROR,
                format!("cannot run the command: {e}"),
            )
        })?;
    if output.status.success() {
        Ok(wamp_cli::value_from_output(&String::from_utf8_lossy(
            &output.stdout,
        )))
    } else {
        let stderr = String::from_utf8_lossy(&output.stderr).trim().to_owned();
        let text = if stderr.is_empty() {
            format!("the command failed ({})", output.status)
        } else {
            stderr
        };
        Err(WampError::with_message(
            wamp_runtime::proto::error::RUNTIME_ERROR,
            text,
        ))
    }
}

/// Writes the TypeScript module of `contract` to `out`, or to standard output.
fn write_module(
    contract: &wamp_cli::codegen::Contract,
    out: Option<&std::path::Path>,
) -> Result<(), Failure> {
    let module = wamp_cli::codegen::typescript::generate(contract);
    match out {
        None => {
            print!("{module}");
            Ok(())
        }
        Some(path) => std::fs::write(path, module)
            .map_err(|e| Failure::Input(format!("cannot write {}: {e}", path.display()))),
    }
}

/// Prints the descriptions under `filter`; nothing found is an error (exit 1).
async fn describe(
    session: &Session,
    filter: Option<&str>,
    json: bool,
    timeout: Duration,
) -> Result<(), Failure> {
    let found = wamp_cli::describe::fetch(session, filter, timeout).await?;
    if json {
        println!("{}", found.to_json());
    } else if !found.is_empty() {
        println!("{}", wamp_cli::describe::render(&found));
    }
    match (found.is_empty(), filter) {
        (true, Some(f)) => Err(Failure::Wamp(WampError::with_message(
            wamp_runtime::proto::error::NO_SUCH_PROCEDURE,
            format!("nothing is described as {f:?}"),
        ))),
        _ => Ok(()),
    }
}

/// Sessions, registrations and subscriptions from the meta API, as one JSON document.
async fn sessions(session: &Session, timeout: Duration) -> Result<(), Failure> {
    let call = |uri: &'static str, args: Vec<Value>| {
        session
            .call::<Args>(
                uri,
                Args {
                    args,
                    ..Default::default()
                },
            )
            .timeout(timeout)
    };
    let first = |a: Args| a.args.into_iter().next().unwrap_or(Value::Null);
    let mut sessions = Vec::new();
    if let Value::List(ids) = first(call("wamp.session.list", vec![]).await?) {
        for id in ids {
            match call("wamp.session.get", vec![id]).await {
                Ok(details) => sessions.push(to_json(&first(details))),
                // It left between the two calls.
                Err(ClientError::Application(e)) if e.uri.ends_with("no_such_session") => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    let mut out = serde_json::json!({ "sessions": sessions });
    for (kind, list, get, members, key) in [
        (
            "registrations",
            "wamp.registration.list",
            "wamp.registration.get",
            "wamp.registration.list_callees",
            "callees",
        ),
        (
            "subscriptions",
            "wamp.subscription.list",
            "wamp.subscription.get",
            "wamp.subscription.list_subscribers",
            "subscribers",
        ),
    ] {
        let mut entries = Vec::new();
        if let Value::Dict(by_policy) = first(call(list, vec![]).await?) {
            for ids in by_policy.values() {
                let Value::List(ids) = ids else { continue };
                for id in ids {
                    let (Ok(info), Ok(who)) = (
                        call(get, vec![id.clone()]).await,
                        call(members, vec![id.clone()]).await,
                    ) else {
                        continue; // gone in the meantime
                    };
                    let mut entry = to_json(&first(info));
                    entry[key] = to_json(&first(who));
                    entries.push(entry);
                }
            }
        }
        out[kind] = serde_json::Value::Array(entries);
    }
    println!("{out}");
    Ok(())
}
