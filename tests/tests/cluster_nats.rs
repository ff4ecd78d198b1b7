//! How a node reaches NATS: credentials written in the URL (user and password, or a
//! token) for a server that asks for them, TLS with a private certificate authority, and
//! several servers' URLs, the first that answers taken.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use tests::{join, Nats};
use wamp_router::{Cluster, RouterHandle};
use wamp_runtime::{Endpoint, Serializer, WampError};

async fn joined(cluster: Cluster) -> Result<RouterHandle, wamp_router::RouterError> {
    tests::router().cluster(cluster.name("test")).start().await
}

/// Why a node joining with `cluster` does not start.
async fn refusal(cluster: Cluster) -> String {
    match joined(cluster).await {
        Ok(_) => panic!("the node started"),
        Err(e) => e.to_string(),
    }
}

/// Two nodes joined with `url`: a call from one to a callee on the other answers.
async fn serves_across(url: &str) {
    serves_across_with(Cluster::nats(url)).await
}

async fn serves_across_with(cluster: Cluster) {
    let a = joined(cluster.clone()).await.unwrap();
    let b = joined(cluster).await.unwrap();
    let callee = join(Endpoint::from(b.url()), Serializer::MsgPack).await;
    let _reg = callee
        .register("com.nats.add", |(x, y): (i64, i64)| async move {
            Ok::<_, WampError>(x + y)
        })
        .await
        .unwrap();
    let caller = join(Endpoint::from(a.url()), Serializer::Json).await;
    assert_eq!(caller.call::<i64>("com.nats.add", (2, 3)).await.unwrap(), 5);
}

#[tokio::test]
async fn a_user_and_password_in_the_url_are_sent() {
    let nats = Nats::start_with(&["--user", "ann", "--pass", "s@cret"]).await;
    let port = nats.port;
    serves_across(&format!("nats://ann:s%40cret@127.0.0.1:{port}")).await;
    // Without them, or with others, the node does not start, and says why without
    // showing the password.
    let e = refusal(Cluster::nats(&nats.url)).await;
    assert!(e.contains("cannot connect to NATS"), "{e}");
    let e = refusal(Cluster::nats(format!("nats://ann:wrong@127.0.0.1:{port}"))).await;
    assert!(
        e.contains("cannot connect to NATS") && !e.contains("wrong"),
        "{e}"
    );
}

#[tokio::test]
async fn a_token_in_the_url_is_sent() {
    let nats = Nats::start_with(&["--auth", "t0ken"]).await;
    serves_across(&format!("nats://t0ken@127.0.0.1:{}", nats.port)).await;
    let e = refusal(Cluster::nats(&nats.url)).await;
    assert!(e.contains("cannot connect to NATS"), "{e}");
}

#[tokio::test]
async fn of_several_servers_the_one_that_answers_is_taken() {
    let nats = Nats::start().await;
    let dead = tests::free_port();
    serves_across(&format!("nats://127.0.0.1:{dead},{}", nats.url)).await;
}

#[tokio::test]
async fn tls_with_a_private_authority() {
    let dir = std::env::temp_dir().join(format!("wamp-nats-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let names = vec!["127.0.0.1".to_owned(), "localhost".to_owned()];
    let key = rcgen::generate_simple_self_signed(names).unwrap();
    let (cert, pkey) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, key.cert.pem()).unwrap();
    std::fs::write(&pkey, key.signing_key.serialize_pem()).unwrap();
    let tls = ["--tls", "--tlscert", cert.to_str().unwrap()];
    let nats = Nats::start_with(&[&tls[..], &["--tlskey", pkey.to_str().unwrap()]].concat()).await;
    let url = format!("tls://127.0.0.1:{}", nats.port);
    serves_across_with(Cluster::nats(&url).ca(&cert)).await;
    // The system does not trust it.
    let e = refusal(Cluster::nats(&url)).await;
    assert!(e.contains("cannot connect to NATS"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}
