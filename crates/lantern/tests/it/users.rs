//! `lantern users`: the users file edited from the command line, passwords from stdin only, and what the
//! server then accepts.

use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_lantern");

/// Runs `lantern <args>` in `dir` with `stdin` piped in.
fn lantern(dir: &Path, args: &[&str], stdin: &str) -> Output {
    lantern_testkit::run_with_input(
        Command::new(BIN)
            .args(args)
            .current_dir(dir)
            .env("LANTERN_USERS_FILE", dir.join("users.yaml")),
        stdin.as_bytes(),
    )
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn add_passwd_disable_and_list_edit_the_users_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let add = lantern(
        d,
        &[
            "users",
            "add",
            "ana",
            "--name",
            "Ana Silva",
            "--email",
            "ana@example.com",
            "--role",
            "admin",
            "--attr",
            "region=APAC",
            "--attr",
            "region=EMEA",
        ],
        "first-password\n",
    );
    assert!(add.status.success(), "{}", text(&add));
    let file = std::fs::read_to_string(d.join("users.yaml")).unwrap();
    assert!(
        file.contains("username: ana") && file.contains("$argon2id$"),
        "{file}"
    );
    assert!(
        !file.contains("first-password"),
        "never the password itself"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(d.join("users.yaml"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "readable by its owner only: {mode:o}");
    }

    // Refused, each with a message that says why, and the file left as it was.
    for (args, stdin, says) in [
        (
            vec!["users", "add", "ana"],
            "another-password\n",
            "already exists",
        ),
        (
            vec!["users", "add", "bo", "--role", "admn"],
            "long-enough\n",
            "no role `admn`",
        ),
        (
            vec!["users", "add", "bo"],
            "short\n",
            "at least 8 characters",
        ),
        (
            vec!["users", "add", "bo", "--attr", "region"],
            "long-enough\n",
            "expected key=value",
        ),
        (
            vec!["users", "passwd", "nobody"],
            "long-enough\n",
            "no user `nobody`",
        ),
    ] {
        let out = lantern(d, &args, stdin);
        assert!(!out.status.success(), "{args:?}");
        assert!(text(&out).contains(says), "{args:?}: {}", text(&out));
    }
    assert_eq!(std::fs::read_to_string(d.join("users.yaml")).unwrap(), file);

    let list = lantern(d, &["users", "list", "--json"], "");
    assert!(list.status.success(), "{}", text(&list));
    let users: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(users[0]["username"], "ana");
    assert_eq!(users[0]["name"], "Ana Silva");
    assert_eq!(users[0]["roles"], serde_json::json!(["admin"]));
    assert_eq!(
        users[0]["attributes"]["region"],
        serde_json::json!(["APAC", "EMEA"])
    );
    assert_eq!(users[0]["enabled"], true);
    assert!(users[0].get("password_hash").is_none());

    let passwd = lantern(d, &["users", "passwd", "ana"], "second-password\n");
    assert!(passwd.status.success(), "{}", text(&passwd));
    let changed = std::fs::read_to_string(d.join("users.yaml")).unwrap();
    assert_ne!(changed, file, "a new hash");

    let disable = lantern(d, &["users", "disable", "ana"], "");
    assert!(disable.status.success(), "{}", text(&disable));
    let list = lantern(d, &["users", "list"], "");
    let table = text(&list);
    assert!(
        table.contains("ana") && table.contains("Ana Silva") && table.contains("disabled"),
        "{table}"
    );
}
