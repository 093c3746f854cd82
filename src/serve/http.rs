//! The HTTP/1 server under the routes: each connection served by hyper
//! with a deadline for its request headers (a client that trickles them in
//! cannot hold a connection), a cap on open connections, the peer's
//! address handed to the routes, and a graceful stop: on the signal, no
//! new connections; those open finish their request, within a grace time.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;

/// How long a client has to send its request line and headers.
const HEADER_TIME: Duration = Duration::from_secs(10);

/// Open connections at most; more are closed as they arrive. A reverse
/// proxy in front keeps a few, a flood gets no more than this.
const MAX_CONNECTIONS: usize = 512;

/// Room for a request's headers: pages need few (hyper's least is 8 KiB).
const HEADER_BYTES: usize = 16 * 1024;

/// How long open connections get to finish once told to stop.
const GRACE: Duration = Duration::from_secs(5);

/// Serves `app` on `listener` until `stop` resolves.
pub async fn serve(listener: TcpListener, app: Router, stop: impl Future<Output = ()>) {
    let graceful = GracefulShutdown::new();
    let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let mut stop = pin!(stop);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                // Out of file descriptors, say: let some connections close.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
            drop(stream);
            continue;
        };
        let service = app.clone().map_request(move |request: Request<Incoming>| {
            let mut request = request.map(Body::new);
            request.extensions_mut().insert(ConnectInfo(peer));
            request
        });
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(HEADER_TIME)
            .max_buf_size(HEADER_BYTES)
            .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            let _ = connection.await;
            drop(permit);
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(GRACE) => {}
    }
}

/// The peer's address, as the routes see it.
pub type Peer = ConnectInfo<SocketAddr>;
