//! TLS listeners on the router: `wss://` and RawSocket `tcps://` with a certificate read
//! from PEM, our client over both, and WAMP-Cryptosign bound to the TLS channel
//! (`tls-exporter`).

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::sync::Arc;

use rustls::pki_types::CertificateDer;
use tests::router;
use wamp_router::{Listener, ServerTls};
use wamp_runtime::{CryptosignKey, Serializer, Session};

/// A self-signed certificate for `localhost`: the router's TLS settings, and a client
/// configuration that trusts it.
fn certificate() -> (ServerTls, Arc<rustls::ClientConfig>) {
    let (_, tls, client) = certificate_and_key();
    (tls, client)
}

/// [`certificate`], and the certificate and key themselves.
fn certificate_and_key() -> (
    rcgen::CertifiedKey<rcgen::KeyPair>,
    ServerTls,
    Arc<rustls::ClientConfig>,
) {
    let key = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let tls = ServerTls::from_pem(
        key.cert.pem().as_bytes(),
        key.signing_key.serialize_pem().as_bytes(),
    )
    .unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from(key.cert.der().to_vec()))
        .unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let client = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    (key, tls, Arc::new(client))
}

/// `wss://127.0.0.1:PORT/ws` as `wss://localhost:PORT/ws`, the name the certificate has.
fn by_name(url: &str) -> String {
    url.replace("127.0.0.1", "localhost")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wss_and_tcps_listeners_serve_sessions() {
    let (tls, client) = certificate();
    let local = "127.0.0.1:0".parse().unwrap();
    let r = router()
        .listener(Listener::websocket(local).tls(tls.clone()))
        .listener(Listener::rawsocket(local).tls(tls))
        .start()
        .await
        .unwrap();
    let urls = r.urls();
    assert!(urls[1].starts_with("wss://"), "{urls:?}");
    assert!(urls[2].starts_with("tcps://"), "{urls:?}");
    let callee = Session::builder(r.endpoint(), "realm1")
        .connect()
        .await
        .unwrap();
    let _reg = callee
        .register("com.tls.echo", |x: (String,)| async move {
            Ok::<_, wamp_runtime::WampError>(x.0)
        })
        .await
        .unwrap();
    for url in &urls[1..] {
        for ser in Serializer::ALL {
            let s = Session::builder(by_name(url), "realm1")
                .serializer(ser)
                .tls_config(client.clone())
                .connect()
                .await
                .unwrap_or_else(|e| panic!("{url} {ser:?}: {e}"));
            let back: String = s.call("com.tls.echo", ("over TLS",)).await.unwrap();
            assert_eq!(back, "over TLS");
        }
    }
    // A client that does not trust the certificate cannot connect.
    let e = Session::builder(by_name(&urls[1]), "realm1")
        .connect()
        .await
        .unwrap_err();
    assert!(e.to_string().to_lowercase().contains("certificate"), "{e}");
    // Plain WebSocket on a TLS port fails, and the listener keeps serving.
    let plain = urls[1].replace("wss://", "ws://");
    assert!(Session::builder(plain, "realm1").connect().await.is_err());
    let s = Session::builder(by_name(&urls[1]), "realm1")
        .tls_config(client)
        .connect()
        .await
        .unwrap();
    s.leave().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cryptosign_binds_to_the_tls_channel() {
    let (tls, client) = certificate();
    let key = CryptosignKey::generate();
    let local = "127.0.0.1:0".parse().unwrap();
    let r = router()
        .anonymous(None)
        .listener(Listener::websocket(local).tls(tls.clone()))
        .listener(Listener::rawsocket(local).tls(tls))
        .cryptosign_principal("realm1", "device", &key.public_key_hex(), "sensor")
        .unwrap()
        .start()
        .await
        .unwrap();
    for url in &r.urls()[1..] {
        for binding in [true, false] {
            let s = Session::builder(by_name(url), "realm1")
                .tls_config(client.clone())
                .cryptosign(key.clone())
                .channel_binding(binding)
                .connect()
                .await
                .unwrap_or_else(|e| panic!("{url}, binding {binding}: {e}"));
            assert_eq!(s.authid().as_deref(), Some("device"));
            assert_eq!(s.authmethod().as_deref(), Some("cryptosign"));
        }
    }
}

/// A man in the middle that terminates the client's TLS with a certificate the client
/// trusts and opens its own TLS connection to the router: without channel binding the
/// relayed cryptosign signature works; with it, the router refuses it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channel_binding_defeats_a_relaying_man_in_the_middle() {
    use tokio::net::{TcpListener, TcpStream};
    let (key_pair, tls, client) = certificate_and_key();
    let key = CryptosignKey::generate();
    let pbkdf2 = wamp_runtime::scram::Kdf::Pbkdf2 { iterations: 4096 };
    let credential = wamp_runtime::scram::Credential::new("sam-password", pbkdf2).unwrap();
    let r = router()
        .listener(Listener::rawsocket("127.0.0.1:0".parse().unwrap()).tls(tls.clone()))
        .cryptosign_principal("realm1", "device", &key.public_key_hex(), "sensor")
        .unwrap()
        .scram_principal("realm1", "sam", credential, "user")
        .start()
        .await
        .unwrap();
    let upstream = r.rawsocket_addr().unwrap();
    // The relay: TLS from the client, a new TLS connection to the router.
    let mitm = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mitm_port = mitm.local_addr().unwrap().port();
    let acceptor = {
        let der = rustls::pki_types::PrivateKeyDer::Pkcs8(
            rustls::pki_types::PrivatePkcs8KeyDer::from(key_pair.signing_key.serialize_der()),
        );
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![CertificateDer::from(key_pair.cert.der().to_vec())],
                der,
            )
            .unwrap();
        tokio_rustls::TlsAcceptor::from(Arc::new(config))
    };
    let connector = tokio_rustls::TlsConnector::from(client.clone());
    tokio::spawn(async move {
        while let Ok((tcp, _)) = mitm.accept().await {
            let (acceptor, connector) = (acceptor.clone(), connector.clone());
            tokio::spawn(async move {
                let Ok(mut down) = acceptor.accept(tcp).await else {
                    return;
                };
                let tcp = TcpStream::connect(upstream).await.unwrap();
                let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
                let Ok(mut up) = connector.connect(name, tcp).await else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut down, &mut up).await;
            });
        }
    });
    let via_mitm = format!("tcps://localhost:{mitm_port}");
    let relayed = Session::builder(via_mitm.as_str(), "realm1")
        .tls_config(client.clone())
        .cryptosign(key.clone())
        .connect()
        .await;
    assert!(
        relayed.is_ok(),
        "without binding the relay works: {relayed:?}"
    );
    let e = Session::builder(via_mitm.as_str(), "realm1")
        .tls_config(client.clone())
        .cryptosign(key)
        .channel_binding(true)
        .connect()
        .await
        .unwrap_err();
    match e {
        wamp_runtime::Error::Aborted(w) => {
            assert_eq!(w.uri, wamp_runtime::proto::error::AUTHENTICATION_FAILED)
        }
        other => panic!("expected ABORT authentication_failed, got {other:?}"),
    }
    // WAMP-SCRAM the same way: bound, it works straight to the router and not through
    // the relay.
    let scram = |url: &str| {
        Session::builder(url, "realm1")
            .tls_config(client.clone())
            .scram("sam", "sam-password")
            .channel_binding(true)
    };
    let direct = format!("tcps://localhost:{}", upstream.port());
    let s = scram(&direct)
        .connect()
        .await
        .expect("bound SCRAM, straight");
    assert_eq!(s.authmethod().as_deref(), Some("wamp-scram"));
    let relayed = Session::builder(via_mitm.as_str(), "realm1")
        .tls_config(client.clone())
        .scram("sam", "sam-password")
        .connect()
        .await;
    assert!(
        relayed.is_ok(),
        "unbound SCRAM through the relay: {relayed:?}"
    );
    match scram(&via_mitm).connect().await.unwrap_err() {
        wamp_runtime::Error::Aborted(w) => {
            assert_eq!(w.uri, wamp_runtime::proto::error::AUTHENTICATION_FAILED)
        }
        other => panic!("expected ABORT authentication_failed, got {other:?}"),
    }
}

/// Autobahn for Python over both TLS listeners, trusting the certificate from a file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn autobahn_python_over_wss_and_tcps() {
    let (key, tls, _) = certificate_and_key();
    let local = "127.0.0.1:0".parse().unwrap();
    let r = router()
        .listener(Listener::websocket(local).tls(tls.clone()))
        .listener(Listener::rawsocket(local).tls(tls))
        .start()
        .await
        .unwrap();
    let ca = std::env::temp_dir().join(format!(
        "wamp-tls-{}-{:x}.pem",
        std::process::id(),
        rand::random::<u64>()
    ));
    std::fs::write(&ca, key.cert.pem()).unwrap();
    let callee = Session::builder(r.endpoint(), "realm1")
        .connect()
        .await
        .unwrap();
    let _reg = callee
        .register("com.tls.echo", |x: (String,)| async move {
            Ok::<_, wamp_runtime::WampError>(x.0)
        })
        .await
        .unwrap();
    for (url, ser) in [(&r.urls()[1], "json"), (&r.urls()[2], "msgpack")] {
        let out = tests::run_python(
            "autobahn_tls.py",
            &[&by_name(url), ca.to_str().unwrap(), ser],
        )
        .await;
        assert!(out.contains("ALL OK"), "{out}");
    }
    let _ = std::fs::remove_file(&ca);
}
