//! How a router joins a cluster: [`Cluster`], given to `RouterBuilder::cluster`.

use std::time::Duration;

/// Joins the router to a cluster of routers over NATS: nodes of one cluster (same NATS,
/// same cluster name) share every realm they both serve.
///
/// ```no_run
/// # async fn demo() -> Result<(), wamp_router::RouterError> {
/// use wamp_router::{Cluster, Router};
/// let router = Router::builder()
///     .realm("realm1")
///     .cluster(Cluster::nats("nats://127.0.0.1:4222").name("wamp").node("eu-1"))
///     .start()
///     .await?;
/// # router.shutdown().await; Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Cluster {
    pub(crate) nats: String,
    pub(crate) name: String,
    pub(crate) node: String,
    pub(crate) heartbeat: Duration,
    pub(crate) node_timeout: Duration,
    pub(crate) ca: Option<std::path::PathBuf>,
}

impl Cluster {
    /// A cluster reached through the NATS server at `url` (`nats://host:4222`), which must
    /// run JetStream (`nats-server -js`): or several servers of one NATS cluster, their
    /// URLs separated by commas. Credentials go in the URL
    /// (`nats://user:password@host:4222`, `nats://token@host:4222`), TLS with `tls://`.
    /// The cluster is named `wamp` unless renamed.
    pub fn nats(url: impl Into<String>) -> Self {
        Self {
            nats: url.into(),
            name: "wamp".into(),
            node: "node".into(),
            heartbeat: Duration::from_secs(1),
            node_timeout: Duration::from_secs(3),
            ca: None,
        }
    }

    /// Trusts the certificate authority in PEM file `path` for the NATS server's
    /// certificate (besides the system's), and insists on TLS.
    pub fn ca(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.ca = Some(path.into());
        self
    }

    /// The cluster's name: several clusters can share one NATS server.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// A label for this node in logs and the meta API; each start adds a fresh suffix,
    /// so a restarted node is a new member.
    pub fn node(mut self, label: impl Into<String>) -> Self {
        self.node = label.into();
        self
    }

    /// How long a node may stay silent before the others take it as dead (default 3 s;
    /// it sends a heartbeat every second).
    pub fn node_timeout(mut self, timeout: Duration) -> Self {
        self.node_timeout = timeout.max(Duration::from_millis(100));
        self.heartbeat = (self.node_timeout / 3).min(Duration::from_secs(1));
        self
    }

    /// Checks the names (they become parts of NATS subjects and bucket names) and the
    /// NATS URLs.
    pub(crate) fn validate(&self) -> Result<(), String> {
        super::servers::Servers::parse(&self.nats).map_err(|e| format!("cluster NATS URL: {e}"))?;
        let ok = |s: &str| {
            !s.is_empty()
                && s.len() <= 64
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        };
        if !ok(&self.name) {
            return Err(format!(
                "cluster name {:?}: use 1 to 64 letters, digits, '-' or '_'",
                self.name
            ));
        }
        if !ok(&self.node) {
            return Err(format!(
                "cluster node label {:?}: use 1 to 64 letters, digits, '-' or '_'",
                self.node
            ));
        }
        Ok(())
    }

    /// This start's node name: the label and a random suffix.
    pub(crate) fn incarnation(&self) -> String {
        format!("{}-{:08x}", self.node, rand::random::<u32>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_must_fit_subjects() {
        assert!(Cluster::nats("nats://x").validate().is_ok());
        assert!(Cluster::nats("x").name("a.b").validate().is_err());
        assert!(Cluster::nats("x").node("a b").validate().is_err());
        assert!(Cluster::nats("x").name("").validate().is_err());
        assert!(Cluster::nats("http://x").validate().is_err());
        let n = Cluster::nats("x").node("eu-1").incarnation();
        assert!(n.starts_with("eu-1-") && n.len() == 13);
    }
}
