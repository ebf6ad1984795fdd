//! A Ballista cluster inside the test process, as Ballista's `standalone()` starts one but with as many
//! executors as a test asks for: a real gRPC scheduler and real executors (Arrow Flight) on loopback ports, so
//! plans are serialized, scheduled, run and their results fetched exactly as on a remote cluster.

use std::time::Duration;

use ballista_core::serde::BallistaCodec;
use ballista_core::serde::protobuf::scheduler_grpc_client::SchedulerGrpcClient;

/// Starts a scheduler and `executors` executors of `vcores` task slots each; the scheduler's address as
/// Lantern's `query.engine` takes it (`ballista://localhost:<port>`).
pub async fn start_ballista(executors: usize, vcores: usize) -> String {
    let addr = ballista_scheduler::standalone::new_standalone_scheduler()
        .await
        .expect("a standalone Ballista scheduler");
    let url = format!("http://localhost:{}", addr.port());
    for _ in 0..executors {
        let scheduler = connect(&url).await;
        ballista_executor::new_standalone_executor(scheduler, vcores, BallistaCodec::default())
            .await
            .expect("a standalone Ballista executor");
    }
    format!("ballista://localhost:{}", addr.port())
}

async fn connect(url: &str) -> SchedulerGrpcClient<tonic::transport::Channel> {
    for _ in 0..100 {
        if let Ok(client) = SchedulerGrpcClient::connect(url.to_string()).await {
            return client;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the Ballista scheduler at {url} does not answer");
}
