//! The user directory: who may sign in and with which roles, from `auth.users` and `auth.users_file` (re-read
//! when it changes), and the roles they resolve to.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime};

use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};
use lantern_core::access::{Roles, UserRecord, UsersFile};
use lantern_core::config::AuthConfig;
use rand::Rng;

/// Hashes a password as an argon2id PHC string (what `lantern users hash` prints).
pub fn hash_password(password: &str) -> Result<String, String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// A fresh random password for the built-in admin.
pub fn generate_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    (0..20)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

/// How often, at most, the users file's modification time is looked at.
const RECHECK: Duration = Duration::from_secs(1);

struct Snapshot {
    users: BTreeMap<String, Arc<UserRecord>>,
    file_modified: Option<SystemTime>,
    checked: Instant,
}

/// Who may sign in. Cheap to clone.
#[derive(Clone)]
pub struct Users {
    inline: Arc<Vec<UserRecord>>,
    /// The built-in `admin`, there only while no user is configured anywhere (a users file that gains users
    /// while serving retires it at once).
    builtin: Option<Arc<UserRecord>>,
    file: Option<PathBuf>,
    snapshot: Arc<RwLock<Snapshot>>,
    roles: Arc<Roles>,
    /// Verified against for unknown names, so a wrong name costs as long as a wrong password.
    decoy: Arc<str>,
}

fn modified(path: &std::path::Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

fn merge(
    inline: &[UserRecord],
    file: Option<&UsersFile>,
    builtin: Option<&Arc<UserRecord>>,
) -> BTreeMap<String, Arc<UserRecord>> {
    if inline.is_empty()
        && file.is_none_or(|f| f.users.is_empty())
        && let Some(admin) = builtin
    {
        return BTreeMap::from([(admin.username.clone(), admin.clone())]);
    }
    let mut users: BTreeMap<String, Arc<UserRecord>> = inline
        .iter()
        .map(|u| (u.username.clone(), Arc::new(u.clone())))
        .collect();
    // The file's record wins: it is the one `lantern users` edits.
    for u in file.map(|f| f.users.as_slice()).unwrap_or_default() {
        users.insert(u.username.clone(), Arc::new(u.clone()));
    }
    users
}

impl Users {
    /// Users from config and the users file; with none anywhere, the built-in `admin` (role `admin`) whose
    /// password is `admin_password` or, when that is unset, a generated one (returned so that `serve` can print
    /// it once).
    pub fn from_config(auth: &AuthConfig) -> Result<(Self, Option<String>), String> {
        let decoy: Arc<str> = hash_password(&generate_password())?.into();
        let file = match &auth.users_file {
            Some(p) => Some(UsersFile::load(p).map_err(|e| e.to_string())?),
            None => None,
        };
        let inline = auth.users.clone();
        for u in inline.iter().chain(file.iter().flat_map(|f| &f.users)) {
            PasswordHash::new(&u.password_hash)
                .map_err(|e| format!("user `{}` has an invalid password_hash: {e}", u.username))?;
        }
        let mut generated = None;
        let mut builtin = None;
        if inline.is_empty() && file.as_ref().is_none_or(|f| f.users.is_empty()) {
            let password = match &auth.admin_password {
                Some(p) if !p.is_empty() => p.clone(),
                _ => {
                    let p = generate_password();
                    generated = Some(p.clone());
                    p
                }
            };
            builtin = Some(Arc::new(UserRecord {
                username: "admin".into(),
                password_hash: hash_password(&password)?,
                name: Some("Administrator".into()),
                email: None,
                roles: vec![lantern_core::access::ADMIN.to_string()],
                attributes: BTreeMap::new(),
                enabled: true,
            }));
        }
        let roles = Roles::new(auth.roles.clone());
        let users = merge(&inline, file.as_ref(), builtin.as_ref());
        let snapshot = Snapshot {
            users,
            file_modified: auth.users_file.as_deref().and_then(modified),
            checked: Instant::now(),
        };
        Ok((
            Self {
                inline: Arc::new(inline),
                builtin,
                file: auth.users_file.clone(),
                snapshot: Arc::new(RwLock::new(snapshot)),
                roles: Arc::new(roles),
                decoy,
            },
            generated,
        ))
    }

    pub fn roles(&self) -> &Roles {
        &self.roles
    }

    /// Every user now (the users file re-read if it changed).
    pub fn all(&self) -> Vec<Arc<UserRecord>> {
        self.refresh();
        self.snapshot
            .read()
            .expect("lock")
            .users
            .values()
            .cloned()
            .collect()
    }

    /// The current record of `username`, if they exist.
    pub fn get(&self, username: &str) -> Option<Arc<UserRecord>> {
        self.refresh();
        self.snapshot
            .read()
            .expect("lock")
            .users
            .get(username)
            .cloned()
    }

    /// Re-reads the users file when its modification time changed (looked at once a second at most). A file that
    /// no longer parses keeps the last good users, with an error logged: nobody is locked out by a typo.
    fn refresh(&self) {
        let Some(path) = &self.file else { return };
        {
            let s = self.snapshot.read().expect("lock");
            if s.checked.elapsed() < RECHECK {
                return;
            }
        }
        let mut s = self.snapshot.write().expect("lock");
        if s.checked.elapsed() < RECHECK {
            return;
        }
        s.checked = Instant::now();
        let now = modified(path);
        if now == s.file_modified {
            return;
        }
        match UsersFile::load(path) {
            Ok(file) => {
                s.users = merge(&self.inline, Some(&file), self.builtin.as_ref());
                s.file_modified = now;
                tracing::info!(file = %path.display(), users = s.users.len(), "users file reloaded");
            }
            Err(e) => {
                s.file_modified = now;
                tracing::error!(error = %e, "users file not reloaded; the previous users stay in force");
            }
        }
    }

    /// The enabled user `username` if `password` is theirs. Costs the same for a wrong name, a wrong password
    /// and a disabled user.
    pub fn verify(&self, username: &str, password: &str) -> Option<Arc<UserRecord>> {
        let user = self.get(username);
        let hash = user
            .as_ref()
            .map(|u| u.password_hash.clone())
            .unwrap_or_else(|| self.decoy.to_string());
        let ok = PasswordHash::new(&hash)
            .map(|h| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &h)
                    .is_ok()
            })
            .unwrap_or(false);
        user.filter(|u| ok && u.enabled)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifies_hashes_and_rejects_others() {
        let auth = AuthConfig {
            admin_password: Some("s3cret".into()),
            ..Default::default()
        };
        let (users, generated) = Users::from_config(&auth).unwrap();
        assert!(generated.is_none());
        assert!(users.verify("admin", "s3cret").is_some());
        assert!(users.verify("admin", "wrong").is_none());
        assert!(users.verify("nobody", "s3cret").is_none());

        let (users, generated) = Users::from_config(&AuthConfig::default()).unwrap();
        let p = generated.unwrap();
        assert_eq!(p.len(), 20);
        assert_eq!(users.verify("admin", &p).unwrap().roles, vec!["admin"]);
    }

    #[test]
    fn follows_the_users_file_and_refuses_disabled_users() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users.yaml");
        let record = |name: &str, enabled: bool| UserRecord {
            username: name.into(),
            password_hash: hash_password("pw").unwrap(),
            name: None,
            email: None,
            roles: vec![],
            attributes: BTreeMap::new(),
            enabled,
        };
        let mut file = UsersFile::default();
        file.users.push(record("ana", true));
        file.save(&path).unwrap();
        let auth = AuthConfig {
            users_file: Some(path.clone()),
            ..Default::default()
        };
        let (users, generated) = Users::from_config(&auth).unwrap();
        assert!(generated.is_none(), "the file has users: no built-in admin");
        assert!(users.verify("ana", "pw").is_some());
        assert!(users.get("admin").is_none());

        file.users[0] = record("ana", false);
        file.users.push(record("bo", true));
        // A different modification time than the first write, on file systems with coarse times.
        std::thread::sleep(Duration::from_millis(1100));
        file.save(&path).unwrap();
        assert!(users.verify("ana", "pw").is_none(), "disabled");
        assert!(users.verify("bo", "pw").is_some());

        std::thread::sleep(Duration::from_millis(1100));
        std::fs::write(&path, "users: [{username: x}]").unwrap();
        assert!(
            users.verify("bo", "pw").is_some(),
            "a broken file keeps the last users"
        );
    }

    #[test]
    fn the_built_in_admin_retires_once_the_users_file_has_users() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users.yaml");
        let auth = AuthConfig {
            users_file: Some(path.clone()),
            admin_password: Some("bootstrap".into()),
            ..Default::default()
        };
        let (users, _) = Users::from_config(&auth).unwrap();
        assert!(
            users.verify("admin", "bootstrap").is_some(),
            "no users yet: the built-in admin"
        );
        let mut file = UsersFile::default();
        file.users.push(UserRecord {
            username: "ana".into(),
            password_hash: hash_password("pw").unwrap(),
            name: None,
            email: None,
            roles: vec!["admin".into()],
            attributes: BTreeMap::new(),
            enabled: true,
        });
        std::thread::sleep(Duration::from_millis(1100));
        file.save(&path).unwrap();
        assert!(users.verify("admin", "bootstrap").is_none(), "retired");
        assert!(users.verify("ana", "pw").is_some());
    }
}
