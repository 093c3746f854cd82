//! `herald serve`: the small web side of the list. Readers sign up
//! (double opt-in: a confirmation mail, then a button), confirm, and leave
//! with one click (RFC 8058), on pages behind the blog's reverse proxy,
//! sharing the ledger with `send`.
//!
//! The pieces: `routes` (what each URL does), `http` (connections, limits
//! on time and size, a graceful stop), `pages` (HTML), `confirmations`
//! (the mails, sent off the request path), `records` (the ledger on a
//! thread of its own), `client` and `limits` (who is asking, how often),
//! `work` (the optional proof of work). Tokens are `token`'s.
//!
//! Against list bombing (robots signing strangers up, so that confirmation
//! mails harass them and ruin the sender's name) the defences are layered:
//! one confirmation mail per inbox a day whatever is posted (`ada+1@` is
//! `ada@`'s inbox), a per-client limit, a site-wide cap per window, a
//! honeypot field, a signed form timestamp that refuses forms sent back
//! faster than a person types, optional proof of work, and nothing typed
//! by the submitter in the mail.
//! The answer to a signup never depends on the address.

mod client;
mod confirmations;
mod http;
mod limits;
mod pages;
mod records;
mod routes;
mod work;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use minijinja::context;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;

use crate::config::ServeConfig;
use crate::deliver::{Mailer, Notes};
use crate::email::placeholders;
use crate::error::{Error, Result};
use crate::site::Site;
use crate::token::Keys;
use confirmations::{Confirmations, Office};
use pages::Pages;
use records::Records;

/// The largest request body taken: a signup form is a few hundred bytes.
const BODY_BYTES: usize = 16 * 1024;

/// How long a request may take from its headers to its answer (a body
/// trickled in byte by byte ends here).
const REQUEST_TIME: Duration = Duration::from_secs(15);

/// Every page: no scripts but our own, no framing, no referrer (a token
/// in the URL must not leak to a linked site), never cached.
const SECURITY_HEADERS: [(&str, &str); 5] = [
    (
        "content-security-policy",
        "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    ),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("x-frame-options", "DENY"),
    ("cache-control", "no-store"),
];

/// What the routes share.
struct App {
    config: ServeConfig,
    /// `public_url`'s path (`/newsletter`), where the proxy may pass requests
    /// on unstripped; the routes answer there and at the root.
    prefix: Option<String>,
    /// The origins of `public_url` and the blog (`site.url`): the pages a
    /// signup form may be sent from (see `routes::from_another_site`).
    origins: Vec<String>,
    keys: Keys,
    pages: Pages,
    records: Records,
    confirmations: Confirmations,
    per_client: Mutex<limits::PerClient>,
    used_work: Mutex<work::Used>,
    notes: Notes,
}

impl App {
    fn per_client(&self) -> MutexGuard<'_, limits::PerClient> {
        self.per_client
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn min_fill_time(&self) -> chrono::Duration {
        chrono::Duration::from_std(self.config.min_fill_time).unwrap_or(chrono::Duration::zero())
    }
}

/// `serve.public_url`, which every link in a mail is made from.
fn public_url(site: &Site) -> Result<String> {
    site.config.serve.public_url.clone().ok_or_else(|| {
        Error::config(
            site.shown(&site.config_path),
            None,
            "herald serve needs serve.public_url: the address where your reverse proxy exposes it, \
             such as \"https://example.org/newsletter\" (the links in confirmation mails are made from it)",
        )
    })
}

/// Runs the server on `listen` until SIGINT or SIGTERM; `ready` is told
/// the bound address (port 0 picks a free one) before the first request.
pub fn run(
    site: &Site,
    listen: SocketAddr,
    notes: Notes,
    ready: impl FnOnce(SocketAddr) -> Result<()>,
) -> Result<()> {
    let public_url = public_url(site)?;
    placeholders::refuse(&site.config, &site.shown(&site.config_path))?;
    let ledger = site.path(&site.config.email.state);
    let keys = Keys::load(&ledger)?;
    let office = Office {
        mailer: Mailer::new(site)?,
        keys: keys.clone(),
        public_url: public_url.clone(),
        title: site.config.site.title.clone(),
        site_url: site.config.site.url.clone(),
        cap: site.config.serve.confirmations,
        notes: notes.clone(),
    };
    let prefix = url::Url::parse(&public_url)
        .ok()
        .map(|url| url.path().trim_end_matches('/').to_string())
        .filter(|path| !path.is_empty());
    let origins = [public_url.as_str(), site.config.site.url.as_str()]
        .iter()
        .filter_map(|url| url::Url::parse(url).ok())
        .map(|url| url.origin().ascii_serialization())
        .collect();
    let app = Arc::new(App {
        config: site.config.serve.clone(),
        prefix,
        origins,
        keys,
        pages: Pages::load(site)?,
        records: Records::open(&ledger)?,
        confirmations: Confirmations::start(&ledger, office)?,
        per_client: Mutex::new(limits::PerClient::new(site.config.serve.per_ip)),
        used_work: Mutex::new(work::Used::new()),
        notes,
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| Error::Usage(format!("cannot listen on {listen}: {e}")))?;
        let stop = stop_signal()?;
        ready(listener.local_addr()?)?;
        http::serve(listener, router(Arc::clone(&app)), stop).await;
        Ok::<_, Error>(())
    })?;
    // Every connection is closed with the runtime; dropping the rest lets
    // the queued signups have their one try and the ledger threads end.
    drop(runtime);
    drop(app);
    Ok(())
}

/// The routes with their limits and headers.
fn router(app: Arc<App>) -> Router {
    routes::router(app)
        .layer(axum::middleware::map_response(security_headers))
        .layer(DefaultBodyLimit::max(BODY_BYTES))
        .layer(RequestBodyLimitLayer::new(BODY_BYTES))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIME,
        ))
}

async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    for (name, value) in SECURITY_HEADERS {
        headers.insert(name, HeaderValue::from_static(value));
    }
    if !headers.contains_key(header::CONTENT_TYPE) {
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
    }
    response
}

/// A future that resolves on SIGINT (Ctrl-C) or SIGTERM (systemd's stop).
/// The handlers are installed here, before the address is announced: a
/// signal sent the moment the server is up must stop it cleanly, not kill it.
#[cfg(unix)]
fn stop_signal() -> Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
    })
}

#[cfg(not(unix))]
fn stop_signal() -> Result<impl std::future::Future<Output = ()>> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}

/// `herald check`: the pages' layout (the site's `templates/page.html`)
/// renders, as `serve` would find at start.
pub fn check_pages(site: &Site) -> Result<()> {
    Pages::load(site).map(drop)
}

/// `herald serve --form`: a `<form>` for the blog's own pages, posting to
/// `public_url`. It has no timestamp (a static page cannot make one), so a
/// signup from it gets the form once more, filled in, with one.
pub fn form_snippet(site: &Site) -> Result<String> {
    let action = format!("{}/subscribe", public_url(site)?);
    // Escaped by hand, and only what must be: people read and paste this,
    // and minijinja's escaping writes every `/` as `&#x2f;`.
    let action = action
        .replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    let action = minijinja::Value::from_safe_string(action);
    Pages::load(site)?.body("snippet", context! { action })
}
