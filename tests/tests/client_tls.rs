//! `wss://`: the client over TLS (rustls), through a TLS-terminating proxy in front of the
//! router, with a self-signed certificate the test trusts explicitly.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tests::start_router;
use tokio::net::{TcpListener, TcpStream};
use wamp_runtime::{Error, Serializer, Session, WampError};

/// A TLS proxy on a free port forwarding to `backend`; returns its port and the
/// certificate it presents for `localhost`.
async fn tls_proxy(backend: std::net::SocketAddr) -> (u16, CertificateDer<'static>) {
    let key = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let cert = CertificateDer::from(key.cert.der().to_vec());
    let pkey = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.signing_key.serialize_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.clone()], pkey)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let Ok(mut upstream) = TcpStream::connect(backend).await else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut upstream).await;
            });
        }
    });
    (port, cert)
}

fn trusting(cert: CertificateDer<'static>) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Arc::new(
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wss_with_a_trusted_certificate() {
    let r = start_router().await;
    let (port, cert) = tls_proxy(r.local_addr()).await;
    let url = format!("wss://localhost:{port}/ws");
    let tls = trusting(cert);
    let callee = Session::builder(&url, "realm1")
        .serializer(Serializer::Cbor)
        .tls_config(tls.clone())
        .connect()
        .await
        .expect("joins over TLS");
    let caller = Session::builder(&url, "realm1")
        .tls_config(tls)
        .connect()
        .await
        .expect("joins over TLS");
    let _reg = callee
        .register("com.tls.add", |(a, b): (i64, i64)| async move {
            Ok::<_, WampError>(a + b)
        })
        .await
        .unwrap();
    let sum: i64 = caller.call("com.tls.add", (20, 22)).await.unwrap();
    assert_eq!(sum, 42);
    caller.leave().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wss_refuses_an_untrusted_certificate() {
    let r = start_router().await;
    let (port, _) = tls_proxy(r.local_addr()).await;
    // The default configuration trusts the Mozilla roots, not our self-signed certificate.
    let e = Session::builder(format!("wss://localhost:{port}/ws"), "realm1")
        .connect()
        .await
        .unwrap_err();
    assert!(matches!(&e, Error::Transport(_)), "{e:?}");
    assert!(e.to_string().to_lowercase().contains("certificate"), "{e}");
}
