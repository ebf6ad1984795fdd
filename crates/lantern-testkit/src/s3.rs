//! A real S3-protocol server on loopback, for tests of the object-store paths.

use std::path::Path;

/// Credentials the test S3 server accepts.
pub const S3_KEY: &str = "lantern-test-key";
pub const S3_SECRET: &str = "lantern-test-secret";

/// Starts a real S3-protocol server (s3s over `root`, one sub-folder per bucket; `buckets` are created) on
/// 127.0.0.1 for the life of the test process, and returns its endpoint URL.
pub async fn start_s3(root: &Path, buckets: &[&str]) -> String {
    use hyper_util::rt::{TokioExecutor, TokioIo};
    use hyper_util::server::conn::auto::Builder as ConnBuilder;

    for b in buckets {
        std::fs::create_dir_all(root.join(b)).expect("bucket folder");
    }
    let fs = s3s_fs::FileSystem::new(root).expect("s3s-fs root");
    let mut builder = s3s::service::S3ServiceBuilder::new(fs);
    builder.set_auth(s3s::auth::SimpleAuth::from_single(S3_KEY, S3_SECRET));
    let service = builder.build();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let addr = listener.local_addr().expect("bound address");
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let service = service.clone();
            tokio::spawn(async move {
                let _ = ConnBuilder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    format!("http://{addr}")
}
