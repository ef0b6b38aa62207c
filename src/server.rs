//! The accept loop: TCP connections in, warp routes served over HTTP/1.1.
//!
//! We accept ourselves rather than use `warp::serve` so every socket gets
//! TCP_NODELAY, slow request headers time out, and shutdown can stop
//! accepting, let in-flight requests finish, and then drain the WebSocket
//! sessions that warp's graceful shutdown does not cover.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower_service::Service;

/// How long shutdown waits for plain HTTP requests in flight.
const HTTP_DRAIN: Duration = Duration::from_millis(500);

/// The peer's address, put in every request's extensions for the routes.
#[derive(Debug, Clone, Copy)]
pub struct PeerAddr(pub SocketAddr);

/// Serves `service` (the warp routes, as `warp::service(routes)`) on
/// `listener` until `shutdown` is cancelled, then stops accepting and gives
/// HTTP requests in flight a moment to finish.
/// Requests whose headers take longer than `header_timeout` are dropped.
pub async fn serve<S>(
    listener: TcpListener,
    service: S,
    header_timeout: Duration,
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
        let per_request =
            hyper::service::service_fn(move |mut request: http::Request<Incoming>| {
                request.extensions_mut().insert(PeerAddr(peer));
                service.clone().call(request)
            });
        let connection = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(header_timeout)
            .serve_connection(TokioIo::new(stream), per_request)
            .with_upgrades();
        let shutdown = shutdown.clone();
        connections.spawn(async move {
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
