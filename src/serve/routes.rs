//! The routes and what each does. GET never changes anything (link
//! scanners fetch every link in a mail); the changes are POSTs that need a
//! token only the reader's mailbox has, so no other site can make a
//! visitor's browser subscribe or unsubscribe anyone (CSRF). No route
//! redirects, so there is no open redirect to abuse.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::rejection::FormRejection;
use axum::extract::{ConnectInfo, Form, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use minijinja::{Value, context};
use serde::Deserialize;

use super::confirmations::Request;
use super::http::Peer;
use super::{App, client, work};
use crate::email::template::one_line;
use crate::error::Result;
use crate::ledger::Confirmed;
use crate::ledger::Ledger;
use crate::token::{Confirm, Keys, Unsubscribe};

/// A form older than this is served again rather than taken (a page left
/// open for days, or a stamp harvested for reuse).
const STAMP_LIFETIME: chrono::Duration = chrono::Duration::hours(12);

/// The longest name kept, in characters.
const NAME_CHARS: usize = 100;

pub fn router(app: Arc<App>) -> Router {
    let pages = Router::new()
        .route("/", get(subscribe_page))
        .route("/subscribe", get(subscribe_page).post(subscribe))
        .route("/confirm", get(confirm_page).post(confirm))
        .route("/unsubscribe", get(unsubscribe_page).post(unsubscribe))
        .route("/health", get(health))
        .route("/work.js", get(work::script));
    let routes = match app.prefix.as_deref() {
        Some(prefix) => Router::new()
            .route(&format!("{prefix}/"), get(subscribe_page))
            .nest(prefix, pages.clone())
            .merge(pages),
        None => pages,
    };
    routes.with_state(app)
}

type Page = (StatusCode, Html<String>);

/// Renders a page, or a plain 500 if the author's layout fails.
fn page(app: &App, status: StatusCode, name: &str, values: Value) -> Page {
    match app.pages.render(name, values) {
        Ok(html) => (status, Html(html)),
        Err(e) => {
            app.notes.tell(&e.to_string());
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Html("<!doctype html><title>Error</title><p>Something went wrong on our side. Please try again later.</p>".into()),
            )
        }
    }
}

fn failed(app: &App, e: &crate::Error) -> Page {
    app.notes.tell(&e.to_string());
    page(app, StatusCode::SERVICE_UNAVAILABLE, "busy", context! {})
}

/// The values of the signup form: a fresh stamp and, if asked for, a challenge.
fn form_values(app: &App, email: &str, name: &str, message: Option<&str>) -> Value {
    let now = Utc::now();
    context! {
        action => "subscribe",
        email => email,
        name => name,
        message => message,
        stamp => app.keys.form_stamp(now),
        work => work::challenge(app, now),
        script => "work.js",
    }
}

async fn subscribe_page(State(app): State<Arc<App>>) -> Page {
    page(
        &app,
        StatusCode::OK,
        "subscribe",
        form_values(&app, "", "", None),
    )
}

#[derive(Debug, Default, Deserialize)]
struct SignupForm {
    #[serde(default)]
    email: String,
    name: Option<String>,
    /// The honeypot.
    website: Option<String>,
    stamp: Option<String>,
    work: Option<String>,
    proof: Option<String>,
}

async fn subscribe(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): Peer,
    headers: HeaderMap,
    form: std::result::Result<Form<SignupForm>, FormRejection>,
) -> Response {
    let client = client::address(peer.ip(), &headers, &app.config.trusted_proxies);
    let cross_site = from_another_site(&app, &headers);
    signup(&app, client, cross_site, form).into_response()
}

/// Whether a browser says the form was sent from a page of another site
/// than ours or the blog's. Such a page can make every visitor's browser
/// post a stranger's address with a stamp fetched once (CSRF): each visitor
/// is a new client, so the per-client limit does not hold it back. Browsers
/// say so in Sec-Fetch-Site, older ones by the page's Origin; our own
/// pages' no-referrer policy makes theirs "null". A script sends neither,
/// and is the per-client limit's.
fn from_another_site(app: &App, headers: &HeaderMap) -> bool {
    let value = |name| headers.get(name).and_then(|v| v.to_str().ok());
    let ours = |origin: &str| app.origins.iter().any(|o| o.eq_ignore_ascii_case(origin));
    match (value("sec-fetch-site"), value(header::ORIGIN.as_str())) {
        (Some(site), origin) if site.eq_ignore_ascii_case("cross-site") => {
            !origin.is_some_and(ours)
        }
        (Some(_), _) | (None, None | Some("null")) => false,
        (None, Some(origin)) => !ours(origin),
    }
}

/// The signup's checks, cheapest first. Whatever the address, an accepted
/// signup gets the same page at once: the ledger is not even looked at here.
fn signup(
    app: &App,
    client: IpAddr,
    cross_site: bool,
    form: std::result::Result<Form<SignupForm>, FormRejection>,
) -> Response {
    let admitted = app
        .per_client()
        .admit(client::limit_key(client), Instant::now());
    if !admitted {
        return page(app, StatusCode::TOO_MANY_REQUESTS, "too-many", context! {}).into_response();
    }
    let Ok(Form(form)) = form else {
        let message = "The form could not be read; please fill it in again.";
        let values = form_values(app, "", "", Some(message));
        return page(app, StatusCode::BAD_REQUEST, "subscribe", values).into_response();
    };
    let checked = typed(app, &form).and_then(|(email, name)| {
        human(app, &form, cross_site, &email, &name).map(|()| (email, name))
    });
    match checked {
        Ok((email, name)) => queue(app, email, name),
        Err(answer) => answer.into_response(),
    }
}

/// The page that tells a person to look in their inbox; robots get it too.
fn inbox(app: &App) -> Page {
    page(app, StatusCode::OK, "check-inbox", context! {})
}

/// The address (normalised) and the name (one line, bounded), or the answer.
fn typed(app: &App, form: &SignupForm) -> std::result::Result<(String, String), Page> {
    if form.website.as_deref().is_some_and(|w| !w.is_empty()) {
        return Err(inbox(app));
    }
    let name = form.name.as_deref().map(one_line).unwrap_or_default();
    let name: String = name.chars().take(NAME_CHARS).collect();
    match crate::subscribers::normalise(form.email.trim()) {
        Ok(email) if email.len() <= 254 => Ok((email, name)),
        _ => {
            let message = "That does not look like an email address. Please check it.";
            let values = form_values(app, &form.email, &name, Some(message));
            Err(page(app, StatusCode::BAD_REQUEST, "subscribe", values))
        }
    }
}

/// The form's origin, stamp and proof of work: a robot's form is answered
/// as a person's and goes no further; a person's that lacks them (the
/// embedded snippet, a page left open for days, a script that did not
/// finish) or that another site's page sent is shown again, filled in,
/// with fresh ones: pressing its button is what a person does and a
/// self-submitting form cannot.
fn human(
    app: &App,
    form: &SignupForm,
    cross_site: bool,
    email: &str,
    name: &str,
) -> std::result::Result<(), Page> {
    let now = Utc::now();
    let again = |message: Option<&str>| {
        let values = form_values(app, email, name, message);
        page(app, StatusCode::OK, "one-more-step", values)
    };
    if cross_site {
        return Err(again(None));
    }
    match form.stamp.as_deref().map(|s| app.keys.form_time(s)) {
        // A stamp herald did not sign, or a form sent back faster than a person types.
        Some(None) => return Err(inbox(app)),
        Some(Some(at)) if now - at < app.min_fill_time() => return Err(inbox(app)),
        Some(Some(at)) if now - at <= STAMP_LIFETIME => {}
        _ => return Err(again(None)),
    }
    match work::check(app, form.work.as_deref(), form.proof.as_deref(), now) {
        work::Verdict::Done | work::Verdict::NotAsked => Ok(()),
        work::Verdict::Replayed => Err(inbox(app)),
        work::Verdict::Missing => Err(again(Some(
            "Your browser did not finish the anti-robot check. Please press Subscribe again.",
        ))),
    }
}

/// Hands the signup to the confirmations thread, unless the site is past its cap.
fn queue(app: &App, email: String, name: String) -> Response {
    if let Some(wait) = app.confirmations.full_for() {
        return busy(app, wait);
    }
    let name = (!name.is_empty()).then_some(name);
    if !app.confirmations.offer(Request { email, name }) {
        return busy(app, Duration::from_secs(60));
    }
    inbox(app).into_response()
}

fn busy(app: &App, wait: Duration) -> Response {
    let minutes = wait.as_secs().div_ceil(60).max(1);
    let mut response = page(
        app,
        StatusCode::SERVICE_UNAVAILABLE,
        "busy",
        context! { minutes },
    )
    .into_response();
    if let Ok(value) = HeaderValue::from_str(&wait.as_secs().max(1).to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

#[derive(Debug, Default, Deserialize)]
struct TokenQuery {
    t: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct TokenForm {
    t: Option<String>,
}

/// What a confirmation link is worth now.
enum Link {
    /// Signed for this subscriber (ledger token `id`), made at `issued`, in time.
    Good { id: String, issued: DateTime<Utc> },
    /// Signed for them, but older than its lifetime.
    Expired,
    /// Not herald's, cut short, another address's, or its reader is gone.
    Invalid,
}

/// Why a link does nothing, as the page says it.
#[derive(Clone, Copy)]
enum Refused {
    Invalid,
    Expired,
    /// Older than the reader's last unsubscribe.
    Stale,
}

/// Checks a confirmation token against the ledger (whose address it claims).
fn read_link(ledger: &Ledger, keys: &Keys, token: &str) -> Result<Link> {
    let Some(claim) = Confirm::parse(token) else {
        return Ok(Link::Invalid);
    };
    let Some(subscriber) = ledger.subscriber_by_token(claim.id)? else {
        return Ok(Link::Invalid);
    };
    Ok(match claim.is_for(keys, &subscriber.email, Utc::now()) {
        Some(issued) => Link::Good {
            id: claim.id.to_string(),
            issued,
        },
        None if claim.was_for(keys, &subscriber.email) => Link::Expired,
        None => Link::Invalid,
    })
}

/// The page a link scanner may fetch: the button, and nothing changed.
async fn confirm_page(State(app): State<Arc<App>>, Query(query): Query<TokenQuery>) -> Page {
    let token = query.t.unwrap_or_default();
    let (keys, checked) = (app.keys.clone(), token.clone());
    let link = app
        .records
        .call(move |ledger| read_link(ledger, &keys, &checked))
        .await;
    match link {
        Ok(Link::Good { .. }) => page(
            &app,
            StatusCode::OK,
            "confirm",
            context! { action => "confirm", token },
        ),
        Ok(Link::Expired) => refused(&app, "confirm", Refused::Expired),
        Ok(Link::Invalid) => refused(&app, "confirm", Refused::Invalid),
        Err(e) => failed(&app, &e),
    }
}

/// The button: the reader is active from now on.
async fn confirm(
    State(app): State<Arc<App>>,
    Query(query): Query<TokenQuery>,
    form: std::result::Result<Form<TokenForm>, FormRejection>,
) -> Page {
    let token = form
        .ok()
        .and_then(|Form(f)| f.t)
        .or(query.t)
        .unwrap_or_default();
    let keys = app.keys.clone();
    let outcome = app
        .records
        .call(move |ledger| match read_link(ledger, &keys, &token)? {
            Link::Good { id, issued } => Ok(ledger.confirm(&id, issued)?.ok_or(Refused::Invalid)),
            Link::Expired => Ok(Err(Refused::Expired)),
            Link::Invalid => Ok(Err(Refused::Invalid)),
        })
        .await;
    match outcome {
        Ok(Ok(Confirmed::Now)) => page(&app, StatusCode::OK, "confirmed", context! {}),
        Ok(Ok(Confirmed::Already)) => page(
            &app,
            StatusCode::OK,
            "confirmed",
            context! { already => true },
        ),
        Ok(Ok(Confirmed::Stale)) => refused(&app, "confirm", Refused::Stale),
        Ok(Err(why)) => refused(&app, "confirm", why),
        Err(e) => failed(&app, &e),
    }
}

/// A link that does nothing says so: 410 when it has expired, else 400.
fn refused(app: &App, purpose: &str, why: Refused) -> Page {
    let (status, expired, stale) = match why {
        Refused::Invalid => (StatusCode::BAD_REQUEST, false, false),
        Refused::Expired => (StatusCode::GONE, true, false),
        Refused::Stale => (StatusCode::BAD_REQUEST, false, true),
    };
    page(
        app,
        status,
        "invalid-link",
        context! { purpose, expired, stale, subscribe => "subscribe" },
    )
}

/// Whether an unsubscribe token is good: the subscriber's ledger token if so.
async fn check_unsubscribe(app: &App, token: String, then_unsubscribe: bool) -> Result<bool> {
    let keys = app.keys.clone();
    app.records
        .call(move |ledger| {
            let Some(claim) = Unsubscribe::parse(&token) else {
                return Ok(false);
            };
            let Some(subscriber) = ledger.subscriber_by_token(claim.id)? else {
                return Ok(false);
            };
            if !claim.is_for(&keys, &subscriber.email) {
                return Ok(false);
            }
            if then_unsubscribe {
                ledger.unsubscribe_by_token(claim.id)?;
            }
            Ok(true)
        })
        .await
}

async fn unsubscribe_page(State(app): State<Arc<App>>, Query(query): Query<TokenQuery>) -> Page {
    let token = query.t.unwrap_or_default();
    match check_unsubscribe(&app, token.clone(), false).await {
        Ok(true) => {
            let action = format!(
                "unsubscribe?t={}",
                url::form_urlencoded::byte_serialize(token.as_bytes()).collect::<String>()
            );
            page(&app, StatusCode::OK, "unsubscribe", context! { action })
        }
        Ok(false) => refused(&app, "unsubscribe", Refused::Invalid),
        Err(e) => failed(&app, &e),
    }
}

/// RFC 8058's one-click POST (body `List-Unsubscribe=One-Click`, as
/// urlencoded or multipart form data) or the page's button: the token in
/// the URL is what counts, so the body is not read.
async fn unsubscribe(State(app): State<Arc<App>>, Query(query): Query<TokenQuery>) -> Page {
    let token = query.t.unwrap_or_default();
    match check_unsubscribe(&app, token, true).await {
        Ok(true) => page(
            &app,
            StatusCode::OK,
            "unsubscribed",
            context! { subscribe => "subscribe" },
        ),
        Ok(false) => refused(&app, "unsubscribe", Refused::Invalid),
        Err(e) => failed(&app, &e),
    }
}

/// For the proxy and systemd: the ledger answers.
async fn health(State(app): State<Arc<App>>) -> (StatusCode, &'static str) {
    match app.records.call(|ledger| ledger.id()).await {
        Ok(_) => (StatusCode::OK, "ok\n"),
        Err(e) => {
            app.notes.tell(&format!("health check: {e}"));
            (StatusCode::SERVICE_UNAVAILABLE, "ledger unavailable\n")
        }
    }
}
