//! The router's own client sessions (role `trusted`, joined in-process), one per realm,
//! opened when first needed: dynamic authenticators are called through them.

use std::sync::Arc;

use wamp_runtime::Session;

use crate::RouterInner;

/// The router's session in `realm`, joining it if there is none yet (or the last one
/// closed).
pub(crate) async fn session(router: &Arc<RouterInner>, realm: &str) -> Result<Session, String> {
    let mut sessions = router.internal.lock().await;
    if let Some(s) = sessions.get(realm).filter(|s| !s.is_closed()) {
        return Ok(s.clone());
    }
    if !router.realms.contains_key(realm) {
        return Err(format!("no realm {realm:?} on this router"));
    }
    let endpoint = wamp_runtime::Endpoint::custom(crate::listener::memory::LocalConnector {
        router: router.clone(),
        trusted: true,
    });
    let session = Session::builder(endpoint, realm)
        .connect_timeout(router.config.auth.timeout)
        .connect()
        .await
        .map_err(|e| e.to_string())?;
    sessions.insert(realm.to_owned(), session.clone());
    Ok(session)
}
