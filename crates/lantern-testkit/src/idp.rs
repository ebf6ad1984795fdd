//! A real identity provider for the single sign-on tests: `nanoidp` (PyPI; OpenID Connect and SAML 2.0), run
//! from the virtualenv `scripts/services.sh` installs, on a free loopback port, with the users a test gives.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running nanoidp; stopped when dropped.
pub struct Idp {
    /// `http://127.0.0.1:<port>`: the issuer.
    pub base: String,
    pub dir: PathBuf,
    child: Child,
    _dir: tempfile::TempDir,
}

impl Idp {
    /// Where nanoidp keeps its signing key (`rsa_private.pem`) and certificate (`idp-cert.pem`).
    pub fn keys_dir(&self) -> PathBuf {
        self._dir.path().join("keys")
    }
}

impl Drop for Idp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The virtualenv's Python (nanoidp's, with its XML signing libraries): `LANTERN_TEST_VENV`, else
/// `~/.cache/lantern-venv`.
pub fn python() -> PathBuf {
    let venv = std::env::var_os("LANTERN_TEST_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/lantern-venv")
        });
    let python = venv.join("bin/python");
    assert!(
        python.exists(),
        "{} not found: run scripts/services.sh, which installs nanoidp into that virtualenv",
        python.display()
    );
    python
}

fn get(port: u16, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

/// Starts nanoidp with `users_yaml` as its users file (nanoidp's format), client `demo-client` /
/// `demo-secret` and SAML roles exported; returns once its OpenID configuration answers. Its SAML metadata is
/// at `<base>/saml/metadata`.
pub fn start_nanoidp(users_yaml: &str) -> Idp {
    let python = python();
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("idp");
    let init = Command::new(&python)
        .args(["-m", "nanoidp", "init"])
        .arg(&conf)
        // nanoidp writes its signing keys under the working directory: keep them in the test's folder.
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        init.status.success(),
        "nanoidp init: {}",
        String::from_utf8_lossy(&init.stderr)
    );
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let settings = std::fs::read_to_string(conf.join("settings.yaml")).unwrap();
    let settings = settings
        .replace("port: 8000", &format!("port: {port}"))
        .replace("\"http://localhost:8000\"", &format!("\"{base}\""))
        // Roles are no standard SAML attribute: nanoidp sends them (as `roles`) only when asked to.
        .replace("export_roles: false", "export_roles: true");
    assert!(
        settings.contains(&base) && settings.contains("export_roles: true"),
        "nanoidp's settings changed shape:\n{settings}"
    );
    std::fs::write(conf.join("settings.yaml"), settings).unwrap();
    std::fs::write(conf.join("users.yaml"), users_yaml).unwrap();
    let log = std::fs::File::create(dir.path().join("idp.log")).unwrap();
    let child = Command::new(&python)
        .args(["-m", "nanoidp", "--config"])
        .arg(&conf)
        .args(["--host", "127.0.0.1", "--port", &port.to_string()])
        .current_dir(dir.path())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let mut idp = Idp {
        base,
        dir: conf,
        child,
        _dir: dir,
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if get(port, "/.well-known/openid-configuration").is_some_and(|r| r.contains(" 200 ")) {
            return idp;
        }
        if let Ok(Some(status)) = idp.child.try_wait() {
            let log = std::fs::read_to_string(idp._dir.path().join("idp.log")).unwrap_or_default();
            panic!("nanoidp exited ({status}):\n{log}");
        }
        assert!(
            Instant::now() < deadline,
            "nanoidp did not answer on {}",
            idp.base
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}
