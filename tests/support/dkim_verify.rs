//! DKIM signatures checked by mail-auth with a public key given directly
//! (no DNS: the record is put in the verifier's cache, and a verifier that
//! wanted the network would panic in `block_on`). Shared by the test
//! binaries that receive signed mail.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use mail_auth::common::parse::TxtRecordParser;
use mail_auth::common::verify::DomainKey;
use mail_auth::hickory_resolver::config::{NameServerConfigGroup, ResolverConfig, ResolverOpts};
use mail_auth::{
    AuthenticatedMessage, DkimResult, MessageAuthenticator, Parameters, ResolverCache, Txt,
};

/// The TXT records the verifier may see: only those put here.
#[derive(Default)]
struct Records(Mutex<HashMap<String, Txt>>);

impl ResolverCache<String, Txt> for Records {
    fn get<Q>(&self, name: &Q) -> Option<Txt>
    where
        String: std::borrow::Borrow<Q>,
        Q: std::hash::Hash + Eq + ?Sized,
    {
        self.0.lock().unwrap().get(name).cloned()
    }

    fn remove<Q>(&self, name: &Q) -> Option<Txt>
    where
        String: std::borrow::Borrow<Q>,
        Q: std::hash::Hash + Eq + ?Sized,
    {
        self.0.lock().unwrap().remove(name)
    }

    fn insert(&self, key: String, value: Txt, _valid_until: std::time::Instant) {
        self.0.lock().unwrap().insert(key, value);
    }
}

/// Runs a future that must not wait on anything (every record is cached).
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => {
            panic!("the verifier wanted the network; the key must come from the record given")
        }
    }
}

/// mail-auth's verdict on `bytes`, with `record` published at `name`.
pub fn verify(bytes: &[u8], name: &str, record: &str) -> Result<(), String> {
    let message = AuthenticatedMessage::parse(bytes).ok_or("not a message")?;
    let records = Records::default();
    let key = DomainKey::parse(record.as_bytes()).map_err(|e| format!("record: {e:?}"))?;
    records.insert(
        format!("{name}."),
        Txt::DomainKey(Arc::new(key)),
        std::time::Instant::now(),
    );
    // No name server at all: the record given is the only one there is.
    let nowhere = ResolverConfig::from_parts(None, vec![], NameServerConfigGroup::with_capacity(0));
    let authenticator = MessageAuthenticator::new(nowhere, ResolverOpts::default()).unwrap();
    let outputs =
        block_on(authenticator.verify_dkim(Parameters::new(&message).with_txt_cache(&records)));
    match outputs.first().map(|o| o.result()) {
        Some(DkimResult::Pass) => Ok(()),
        Some(other) => Err(format!("{other:?}")),
        None => Err("no DKIM signature".into()),
    }
}
