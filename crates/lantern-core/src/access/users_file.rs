//! Users: who may sign in, with their argon2id hash, display name, email, roles and attributes (for row rules
//! such as `{{user.region}}`). Kept in config (`auth.users`) or in a users file (`auth.users_file`) that
//! `lantern users add|passwd|disable|list` edits.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// One user.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct UserRecord {
    pub username: String,
    /// An argon2id PHC string; never the password.
    pub password_hash: String,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default)]
    pub roles: Vec<String>,
    /// Values row rules can be bound to: one text or a list.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, Attribute>,
    /// A disabled user cannot sign in, and their sessions end at their next request.
    #[serde(default = "enabled")]
    pub enabled: bool,
}

fn enabled() -> bool {
    true
}

/// A user attribute's value.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum Attribute {
    One(String),
    Many(Vec<String>),
}

impl UserRecord {
    /// The attributes as lists, as row rules read them.
    pub fn attribute_lists(&self) -> BTreeMap<String, Vec<String>> {
        self.attributes
            .iter()
            .map(|(k, v)| {
                let values = match v {
                    Attribute::One(s) => vec![s.clone()],
                    Attribute::Many(l) => l.clone(),
                };
                (k.clone(), values)
            })
            .collect()
    }

    /// Checks what a record must hold; `at` names where it came from in errors.
    pub fn check(&self, at: &str) -> Result<()> {
        let name = self.username.trim();
        if name.is_empty() || name != self.username || name.contains(char::is_control) {
            return Err(Error::config(
                format!("{at}.username"),
                "must be non-empty, without surrounding spaces or control characters",
            ));
        }
        if !self.password_hash.starts_with("$argon2") {
            return Err(Error::config(
                format!("{at}.password_hash"),
                "must be an argon2 hash as printed by `lantern users hash` (or use `lantern users add`)",
            ));
        }
        Ok(())
    }
}

/// The users file: `users:` then a list of [`UserRecord`]s.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct UsersFile {
    #[serde(default)]
    pub users: Vec<UserRecord>,
}

impl UsersFile {
    /// Reads and checks `path`; a missing file is an empty one (so `lantern users add` can create it).
    pub fn load(path: &Path) -> Result<Self> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) => {
                return Err(Error::config(
                    path.display().to_string(),
                    format!("cannot read: {e}"),
                ));
            }
        };
        let file: UsersFile = if text.trim().is_empty() {
            Self::default()
        } else {
            serde_yaml::from_str(&text)
                .map_err(|e| Error::config(path.display().to_string(), e.to_string()))?
        };
        let mut seen = std::collections::BTreeSet::new();
        for (i, u) in file.users.iter().enumerate() {
            let at = format!("{}: users[{i}]", path.display());
            u.check(&at)?;
            if !seen.insert(u.username.as_str()) {
                return Err(Error::config(
                    format!("{at}.username"),
                    format!("`{}` appears twice", u.username),
                ));
            }
        }
        Ok(file)
    }

    /// Writes the file whole or not at all: a temporary file beside it, readable by the owner only, renamed over
    /// it, so a crash midway leaves the old users in place.
    pub fn save(&self, path: &Path) -> Result<()> {
        let io = |e: std::io::Error| Error::config(path.display().to_string(), e.to_string());
        let text = serde_yaml::to_string(self)
            .map_err(|e| Error::config(path.display().to_string(), e.to_string()))?;
        let tmp = PathBuf::from(format!("{}.tmp", path.display()));
        {
            use std::io::Write;
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create(true).truncate(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut f = options.open(&tmp).map_err(io)?;
            f.write_all(text.as_bytes()).map_err(io)?;
            f.sync_all().map_err(io)?;
        }
        std::fs::rename(&tmp, path).map_err(io)
    }

    pub fn get_mut(&mut self, username: &str) -> Option<&mut UserRecord> {
        self.users.iter_mut().find(|u| u.username == username)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA";

    #[test]
    fn round_trips_and_names_bad_records() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users.yaml");
        assert!(UsersFile::load(&path).unwrap().users.is_empty());
        let mut file = UsersFile::default();
        file.users.push(UserRecord {
            username: "ana".into(),
            password_hash: HASH.into(),
            name: Some("Ana Silva".into()),
            email: Some("ana@example.com".into()),
            roles: vec!["analyst".into()],
            attributes: BTreeMap::from([
                ("region".into(), Attribute::One("APAC".into())),
                (
                    "teams".into(),
                    Attribute::Many(vec!["Web".into(), "ML".into()]),
                ),
            ]),
            enabled: true,
        });
        file.save(&path).unwrap();
        let back = UsersFile::load(&path).unwrap();
        assert_eq!(back.users, file.users);
        assert_eq!(back.users[0].attribute_lists()["teams"], vec!["Web", "ML"]);

        std::fs::write(&path, format!("users:\n  - {{username: a, password_hash: '{HASH}'}}\n  - {{username: a, password_hash: '{HASH}'}}\n")).unwrap();
        let e = UsersFile::load(&path).unwrap_err().to_string();
        assert!(
            e.contains("users[1].username") && e.contains("twice"),
            "{e}"
        );
        std::fs::write(&path, "users:\n  - {username: a, password_hash: secret}\n").unwrap();
        let e = UsersFile::load(&path).unwrap_err().to_string();
        assert!(e.contains("users[0].password_hash"), "{e}");
        std::fs::write(&path, "users:\n  - {username: a, pasword_hash: x}\n").unwrap();
        let e = UsersFile::load(&path).unwrap_err().to_string();
        assert!(
            e.contains("users.yaml") && e.contains("pasword_hash"),
            "{e}"
        );
    }
}
