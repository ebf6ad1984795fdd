//! A Redis server of a test's own: Debian's `redis-server` on a free loopback port, with nothing saved to disk,
//! killed when dropped. A test that stops it sees what replicas see in a Redis outage.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct RedisServer {
    /// The port in the clear (also open when TLS is, so a test can look inside).
    pub port: u16,
    /// The TLS port, with its certificate authority's PEM file: see [`RedisServer::start_tls`].
    pub tls: Option<(u16, PathBuf)>,
    child: Option<Child>,
}

impl RedisServer {
    /// Starts one and waits until it answers `PING`.
    pub fn start() -> Self {
        Self::spawn(&[], None)
    }

    /// Starts one that also takes TLS on a second port, with a certificate for `127.0.0.1` signed by a
    /// certificate authority made for it in `dir` (`ca.pem`, which no system trusts). Needs `openssl`.
    pub fn start_tls(dir: &Path) -> Self {
        let openssl = |args: &[&str]| {
            let out = Command::new("openssl")
                .args(args)
                .current_dir(dir)
                .output()
                .unwrap_or_else(|e| {
                    panic!("cannot run openssl ({e}): scripts/services.sh installs it")
                });
            assert!(
                out.status.success(),
                "openssl {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        openssl(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=Lantern test CA",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
        ]);
        openssl(&[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            "redis.key",
            "-out",
            "redis.csr",
        ]);
        std::fs::write(
            dir.join("san.ext"),
            "subjectAltName=IP:127.0.0.1,DNS:localhost\n",
        )
        .unwrap();
        openssl(&[
            "x509",
            "-req",
            "-in",
            "redis.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "san.ext",
            "-out",
            "redis.pem",
        ]);
        let tls_port = crate::free_port();
        let path = |name: &str| dir.join(name).display().to_string();
        let args = [
            "--tls-port".to_string(),
            tls_port.to_string(),
            "--tls-cert-file".into(),
            path("redis.pem"),
            "--tls-key-file".into(),
            path("redis.key"),
            "--tls-ca-cert-file".into(),
            path("ca.pem"),
            "--tls-auth-clients".into(),
            "no".into(),
        ];
        Self::spawn(&args, Some((tls_port, dir.join("ca.pem"))))
    }

    fn spawn(extra: &[String], tls: Option<(u16, PathBuf)>) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args(["--save", "", "--appendonly", "no"])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start redis-server ({e}): scripts/services.sh installs it")
            });
        let server = Self {
            port,
            tls,
            child: Some(child),
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !server.answers() {
            assert!(
                Instant::now() < deadline,
                "redis-server on {port} did not answer"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    /// `redis://127.0.0.1:<port>/0`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// `rediss://127.0.0.1:<TLS port>/0`, for a server started by [`RedisServer::start_tls`].
    pub fn tls_url(&self) -> String {
        let (port, _) = self.tls.as_ref().expect("started with TLS");
        format!("rediss://127.0.0.1:{port}/0")
    }

    /// Whether it answers `PING` now.
    pub fn answers(&self) -> bool {
        self.reply(b"PING\r\n").as_deref() == Some("+PONG")
    }

    /// How many keys match `pattern` now (asked in the clear).
    pub fn count_keys(&self, pattern: &str) -> usize {
        let script = "return #redis.call('KEYS', ARGV[1])";
        let command = format!(
            "*4\r\n$4\r\nEVAL\r\n${}\r\n{script}\r\n$1\r\n0\r\n${}\r\n{pattern}\r\n",
            script.len(),
            pattern.len()
        );
        let reply = self.reply(command.as_bytes()).expect("redis answers");
        reply
            .strip_prefix(':')
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("a count, not {reply:?}"))
    }

    /// The first line of the server's reply to `command` (one RESP command), without its `\r\n`.
    fn reply(&self, command: &[u8]) -> Option<String> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
        s.write_all(command).ok()?;
        let mut line = Vec::new();
        let mut byte = [0u8; 1];
        while !line.ends_with(b"\r\n") {
            s.read_exact(&mut byte).ok()?;
            line.push(byte[0]);
        }
        line.truncate(line.len() - 2);
        String::from_utf8(line).ok()
    }

    /// Kills the server (an outage) and waits until it is gone.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}
