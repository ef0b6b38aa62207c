//! The accept loop: TCP connections in (through TLS with `--tls`), warp
//! routes served over HTTP/1.1.
//!
//! We accept ourselves rather than use `warp::serve` so every socket gets
//! TCP_NODELAY, slow request headers (and slow TLS handshakes) time out, and
//! shutdown can stop accepting, let in-flight requests finish, and then
//! drain the WebSocket sessions that warp's graceful shutdown does not cover.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower_service::Service;

use crate::tls::Acceptor;

/// How long shutdown waits for plain HTTP requests in flight.
const HTTP_DRAIN: Duration = Duration::from_millis(500);

/// The peer's address, put in every request's extensions for the routes.
#[derive(Debug, Clone, Copy)]
pub struct PeerAddr(pub SocketAddr);

/// Serves `service` (the warp routes, as `warp::service(routes)`) on
/// `listener` until `shutdown` is cancelled, then stops accepting and gives
/// HTTP requests in flight a moment to finish. With `tls`, each connection
/// is a TLS one. Requests whose headers (and TLS handshakes) take longer
/// than `header_timeout` are dropped.
pub async fn serve<S>(
    listener: TcpListener,
    service: S,
    header_timeout: Duration,
    tls: Option<Acceptor>,
    shutdown: CancellationToken,
) where
    S: Service<http::Request<Incoming>, Response = warp::reply::Response, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    let connections = TaskTracker::new();
    loop {
        let (stream, peer) = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Usually out of file descriptors; back off rather than spin.
                    log::warn!("accept failed: {err}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let service = service.clone();
        let shutdown = shutdown.clone();
        let tls = tls.clone();
        connections.spawn(async move {
            let Some(tls) = tls else {
                return serve_connection(stream, peer, service, header_timeout, shutdown).await;
            };
            // In the connection's own task, so a slow handshake holds up no one.
            match tokio::time::timeout(header_timeout, tls.accept(stream)).await {
                Ok(Ok(stream)) => {
                    serve_connection(stream, peer, service, header_timeout, shutdown).await
                }
                Ok(Err(err)) => log::debug!("TLS handshake with {peer} failed: {err}"),
                Err(_) => log::debug!("TLS handshake with {peer} timed out"),
            }
        });
    }
    drop(listener);
    connections.close();
    if tokio::time::timeout(HTTP_DRAIN, connections.wait())
        .await
        .is_err()
    {
        log::debug!("some HTTP requests were still open at shutdown");
    }
}

/// Serves HTTP/1.1 (and upgrades) on one connection until it closes, or
/// finishes its request in flight once `shutdown` is cancelled.
async fn serve_connection<S, I>(
    io: I,
    peer: SocketAddr,
    service: S,
    header_timeout: Duration,
    shutdown: CancellationToken,
) where
    S: Service<http::Request<Incoming>, Response = warp::reply::Response, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let per_request = hyper::service::service_fn(move |mut request: http::Request<Incoming>| {
        request.extensions_mut().insert(PeerAddr(peer));
        service.clone().call(request)
    });
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .serve_connection(TokioIo::new(io), per_request)
        .with_upgrades();
    tokio::pin!(connection);
    let result = tokio::select! {
        result = connection.as_mut() => result,
        _ = shutdown.cancelled() => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(err) = result {
        log::debug!("connection from {peer}: {err}");
    }
}
