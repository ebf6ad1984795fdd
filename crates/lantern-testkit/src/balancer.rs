//! A TCP load balancer on loopback, working as an L4 balancer does (an AWS NLB, HAProxy in TCP mode): each new
//! connection goes to the next backend in turn, and a backend that refuses the connection is passed over for
//! the next, so a replica that dies stops receiving connections at once. Connections already open to it end
//! with it: its requests in flight are lost, as behind a real balancer.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};

/// How long a backend may take to accept before the next one is tried.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);

/// The balancer, serving until dropped.
pub struct Balancer {
    addr: SocketAddr,
    accept: tokio::task::JoinHandle<()>,
    connections: Arc<Vec<AtomicUsize>>,
}

impl Drop for Balancer {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

impl Balancer {
    /// Listens on a free loopback port and spreads connections over `backends`.
    pub async fn start(backends: Vec<SocketAddr>) -> Self {
        assert!(!backends.is_empty(), "a balancer needs a backend");
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let addr = listener.local_addr().expect("bound address");
        let connections: Arc<Vec<AtomicUsize>> =
            Arc::new(backends.iter().map(|_| AtomicUsize::new(0)).collect());
        let counts = connections.clone();
        let accept = tokio::spawn(async move {
            let next = Arc::new(AtomicUsize::new(0));
            let backends = Arc::new(backends);
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    return;
                };
                let (next, backends, counts) = (next.clone(), backends.clone(), counts.clone());
                tokio::spawn(async move {
                    let first = next.fetch_add(1, Ordering::Relaxed);
                    for i in 0..backends.len() {
                        let which = (first + i) % backends.len();
                        let connect = TcpStream::connect(backends[which]);
                        if let Ok(Ok(mut upstream)) =
                            tokio::time::timeout(CONNECT_TIMEOUT, connect).await
                        {
                            counts[which].fetch_add(1, Ordering::Relaxed);
                            let mut client = client;
                            let _ = client.set_nodelay(true);
                            let _ = upstream.set_nodelay(true);
                            let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                            return;
                        }
                    }
                    // No backend accepted: the client's connection is closed unanswered.
                });
            }
        });
        Self {
            addr,
            accept,
            connections,
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Connections handed to each backend so far, in the order they were given.
    pub fn connections(&self) -> Vec<usize> {
        self.connections
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .collect()
    }
}
