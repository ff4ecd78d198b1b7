//! The cluster's shared records: JSON values in JetStream key-value buckets, changed only
//! by compare-and-set, so that nodes racing on one record agree without a coordinator.
//!
//! Keys are hashes (a KV key allows only a few characters; the record holds the text).
//! A bucket keeps one version per key, in memory: after a NATS restart the nodes write
//! again what they hold.

use async_nats::jetstream::{self, kv};
use bytes::Bytes;
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// How often a compare-and-set is retried when other nodes keep winning.
const ATTEMPTS: usize = 64;

/// A shared record could not be read or written.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StoreError {
    #[error("cluster store {bucket}: {message}")]
    Nats { bucket: String, message: String },
    #[error("cluster store {bucket}: gave up after {ATTEMPTS} conflicting writes")]
    Contended { bucket: String },
}

/// The last revision of a bucket a node applied, and a wait for one (the barrier).
#[derive(Debug)]
pub(crate) struct Applied(tokio::sync::watch::Sender<u64>);

impl Default for Applied {
    fn default() -> Self {
        Self(tokio::sync::watch::channel(0).0)
    }
}

impl Applied {
    /// `revision` is applied.
    pub fn set(&self, revision: u64) {
        self.0.send_replace(revision);
    }

    /// Waits until `revision` is applied (bounded by `within`); false if it is not.
    pub async fn wait(&self, revision: u64, within: std::time::Duration) -> bool {
        let mut rx = self.0.subscribe();
        tokio::time::timeout(within, rx.wait_for(|r| *r >= revision))
            .await
            .is_ok_and(|r| r.is_ok())
    }
}

/// What an edit does with a record.
pub(crate) enum Edit<T> {
    /// Leave it as it is.
    Keep,
    /// Write this version.
    Put(T),
    /// Delete it.
    Delete,
}

/// One bucket of records.
#[derive(Debug, Clone)]
pub(crate) struct Records {
    pub kv: kv::Store,
    bucket: String,
    js: jetstream::Context,
}

/// Creates the stream of key-value bucket `bucket` unless it exists.
async fn create_stream(js: &jetstream::Context, bucket: &str) -> Result<(), StoreError> {
    let config = jetstream::stream::Config {
        name: format!("KV_{bucket}"),
        subjects: vec![format!("$KV.{bucket}.>")],
        max_messages_per_subject: 1,
        storage: jetstream::stream::StorageType::Memory,
        allow_rollup: true,
        deny_delete: true,
        allow_direct: true,
        discard: jetstream::stream::DiscardPolicy::New,
        num_replicas: 1,
        ..Default::default()
    };
    let name = config.name.clone();
    match js.get_or_create_stream(config).await {
        Ok(_) => Ok(()),
        // Nodes started at once race to make it: another made it between this node's
        // look and its create (NATS says the subjects overlap, or the name is taken).
        Err(e) => match js.get_stream(&name).await {
            Ok(_) => Ok(()),
            Err(_) => Err(StoreError::Nats {
                bucket: bucket.to_owned(),
                message: e.to_string(),
            }),
        },
    }
}

/// A key for `parts`: the hex of their SHA-256, cut to 128 bits.
pub(crate) fn key(parts: &[&str]) -> String {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    for p in parts {
        ctx.update(&(p.len() as u64).to_be_bytes());
        ctx.update(p.as_bytes());
    }
    hex::encode(&ctx.finish().as_ref()[..16])
}

impl Records {
    /// Opens bucket `bucket`, creating it if no node has yet.
    ///
    /// The bucket's stream is created here rather than by `create_key_value`, which first
    /// reads the account's limits in a form NATS 2.9 does not send; the stream is the one
    /// a key-value bucket is made of (`KV_<bucket>` on `$KV.<bucket>.>`, one version per
    /// key, rollups, direct reads).
    pub async fn open(js: &jetstream::Context, bucket: String) -> Result<Self, StoreError> {
        create_stream(js, &bucket).await?;
        let kv = js
            .get_key_value(bucket.clone())
            .await
            .map_err(|e| StoreError::Nats {
                bucket: bucket.clone(),
                message: e.to_string(),
            })?;
        Ok(Self {
            kv,
            bucket,
            js: js.clone(),
        })
    }

    /// Makes the bucket again if NATS lost it (a restart: the buckets are in memory).
    pub async fn reopen(&self) -> Result<(), StoreError> {
        create_stream(&self.js, &self.bucket).await
    }

    /// The error of a change asked while NATS is away.
    pub fn unreachable(&self) -> StoreError {
        self.error("NATS is unreachable")
    }

    fn error(&self, e: impl std::fmt::Display) -> StoreError {
        StoreError::Nats {
            bucket: self.bucket.clone(),
            message: e.to_string(),
        }
    }

    /// Reads the record at `key`, hands it (with its revision) to `edit`, and writes what
    /// `edit` decides with compare-and-set, again from a fresh read when another node
    /// wrote first. Returns what `edit` returned for the version it decided on, and the
    /// revision written, if anything was. A value that is not a `T` counts as absent.
    pub async fn edit<T, R>(
        &self,
        key: &str,
        mut edit: impl FnMut(Option<(T, u64)>) -> (Edit<T>, R),
    ) -> Result<(R, Option<u64>), StoreError>
    where
        T: Serialize + DeserializeOwned,
    {
        for _ in 0..ATTEMPTS {
            let entry = self.kv.entry(key).await.map_err(|e| self.error(e))?;
            let current = entry.filter(|e| e.operation == kv::Operation::Put);
            let revision = current.as_ref().map(|e| e.revision);
            let record = current.and_then(|e| match serde_json::from_slice::<T>(&e.value) {
                Ok(r) => Some((r, e.revision)),
                Err(err) => {
                    tracing::warn!(key, "cluster store: unreadable record replaced: {err}");
                    None
                }
            });
            let (decision, out) = edit(record);
            let written = match decision {
                Edit::Keep => return Ok((out, None)),
                Edit::Put(value) => {
                    let bytes = Bytes::from(serde_json::to_vec(&value).map_err(|e| self.error(e))?);
                    match revision {
                        Some(rev) => match self.kv.update(key, bytes, rev).await {
                            Ok(r) => Ok(Some(r)),
                            Err(e) if e.kind() == kv::UpdateErrorKind::WrongLastRevision => Err(()),
                            Err(e) => return Err(self.error(e)),
                        },
                        None => match self.kv.create(key, bytes).await {
                            Ok(r) => Ok(Some(r)),
                            Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => Err(()),
                            Err(e) => return Err(self.error(e)),
                        },
                    }
                }
                Edit::Delete => match revision {
                    None => return Ok((out, None)),
                    // A conflict is not told apart from other failures here: read again.
                    Some(rev) => match self.kv.delete_expect_revision(key, Some(rev)).await {
                        Ok(()) => Ok(None),
                        Err(e) => {
                            tracing::debug!(key, "cluster store: delete retried: {e}");
                            Err(())
                        }
                    },
                },
            };
            if let Ok(revision) = written {
                return Ok((out, revision));
            }
        }
        Err(StoreError::Contended {
            bucket: self.bucket.clone(),
        })
    }

    /// Hands `apply` every record stored, then every change, in revision order; `ready`
    /// is told once what was stored when the bucket was opened has been applied. When
    /// `restarts` changes (NATS came back, perhaps empty), `reset` is called and the
    /// bucket is followed again from its start. Returns when `restarts` closes.
    pub async fn follow(
        &self,
        ready: tokio::sync::oneshot::Sender<()>,
        mut restarts: tokio::sync::watch::Receiver<u64>,
        mut reset: impl FnMut(),
        mut apply: impl FnMut(&kv::Entry),
    ) {
        let mut ready = Some(ready);
        loop {
            let last = match self.js.get_stream(format!("KV_{}", self.bucket)).await {
                Ok(mut stream) => stream.info().await.map_or(0, |i| i.state.last_sequence),
                Err(_) => 0,
            };
            if last == 0 {
                ready.take().map(|r| r.send(()));
            }
            let restarted = match self.kv.watch_all_from_revision(1).await {
                Ok(mut watch) => loop {
                    tokio::select! {
                        entry = watch.next() => match entry {
                            Some(Ok(e)) => {
                                apply(&e);
                                if e.revision >= last {
                                    ready.take().map(|r| r.send(()));
                                }
                            }
                            Some(Err(e)) => {
                                tracing::warn!(bucket = self.bucket, "cluster: watch: {e}");
                            }
                            None => break false,
                        },
                        changed = restarts.changed() => match changed {
                            Ok(()) => break true,
                            Err(_) => return,
                        },
                    }
                },
                Err(e) => {
                    tracing::warn!(bucket = self.bucket, "cluster: cannot watch: {e}");
                    false
                }
            };
            // Until NATS is back and the bucket made again.
            if !restarted && restarts.changed().await.is_err() {
                return;
            }
            reset();
        }
    }
}
