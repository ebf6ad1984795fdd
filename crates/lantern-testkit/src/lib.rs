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
