//! Helpers shared by Lantern's integration tests and benchmarks (dev-dependency only).

mod balancer;
mod ballista;
pub mod browser;
mod forms;
mod idp;
pub mod load;
pub mod model_server;
mod process;
mod redis_server;
mod s3;

pub use balancer::Balancer;
pub use ballista::start_ballista;
pub use forms::csrf_token;
pub use idp::{Idp, python as venv_python, start_nanoidp};
pub use process::run_with_input;
pub use redis_server::RedisServer;
pub use s3::{S3_KEY, S3_SECRET, start_s3};

/// A loopback port nothing listens on now (the OS's next free one), for a server a test starts.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("a loopback port")
        .local_addr()
        .expect("its address")
        .port()
}
