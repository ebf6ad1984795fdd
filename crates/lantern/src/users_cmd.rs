//! `lantern users …`: adds, edits and lists the users file (`auth.users_file`). Passwords come from a prompt
//! (asked twice, not echoed) or, when stdin is not a terminal, from its first line: never from the command line,
//! which shell history and process lists keep.

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use lantern_core::access::{Attribute, Roles, UserRecord, UsersFile};
use lantern_core::config::Config;

#[derive(Subcommand)]
pub enum UsersCommand {
    /// Add a user to the users file (the password is asked for, or read from stdin).
    Add {
        username: String,
        /// Display name.
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        email: Option<String>,
        /// A role from `auth.roles` (repeat for several).
        #[arg(long = "role")]
        roles: Vec<String>,
        /// An attribute for row rules, `key=value` (repeat a key for a list).
        #[arg(long = "attr")]
        attributes: Vec<String>,
        /// The users file (default: `auth.users_file`).
        #[arg(long)]
        file: Option<PathBuf>,
    },
    /// Set a user's password (asked for, or read from stdin).
    Passwd {
        username: String,
        #[arg(long)]
        file: Option<PathBuf>,
    },
    /// Disable a user: they cannot sign in, and their sessions end at their next request.
    Disable {
        username: String,
        #[arg(long)]
        file: Option<PathBuf>,
    },
    /// Enable a disabled user again.
    Enable {
        username: String,
        #[arg(long)]
        file: Option<PathBuf>,
    },
    /// List the users with their roles and whether they are enabled.
    List {
        #[arg(long)]
        file: Option<PathBuf>,
        /// Machine-readable output (no password hashes).
        #[arg(long)]
        json: bool,
    },
    /// Print an argon2id hash for `auth.users[].password_hash` (the password is read from stdin).
    Hash,
}

fn users_file(config: &Config, file: Option<PathBuf>) -> Result<PathBuf> {
    file.or_else(|| config.auth.users_file.clone()).context(
        "no users file: set `auth.users_file` in lantern.yaml (or LANTERN_USERS_FILE), or pass --file",
    )
}

/// A password from the terminal (twice, must match) or from stdin's first line.
fn read_password(prompt: &str) -> Result<String> {
    let password = if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password(format!("{prompt}: "))?;
        let again = rpassword::prompt_password("Again: ")?;
        if first != again {
            bail!("the passwords differ");
        }
        first
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        line.trim_end_matches(['\r', '\n']).to_string()
    };
    if password.chars().count() < 8 {
        bail!("the password is too short: use at least 8 characters");
    }
    Ok(password)
}

fn hash(password: &str) -> Result<String> {
    lantern_web::auth::hash_password(password).map_err(anyhow::Error::msg)
}

fn attributes(pairs: &[String]) -> Result<BTreeMap<String, Attribute>> {
    let mut lists: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for p in pairs {
        let Some((k, v)) = p.split_once('=') else {
            bail!("--attr `{p}`: expected key=value, such as region=APAC");
        };
        let k = k.trim();
        if k.is_empty() {
            bail!("--attr `{p}`: the key is empty");
        }
        lists
            .entry(k.to_string())
            .or_default()
            .push(v.trim().to_string());
    }
    Ok(lists
        .into_iter()
        .map(|(k, mut v)| {
            let a = if v.len() == 1 {
                Attribute::One(v.remove(0))
            } else {
                Attribute::Many(v)
            };
            (k, a)
        })
        .collect())
}

fn edit(path: &Path, username: &str, change: impl FnOnce(&mut UserRecord)) -> Result<()> {
    let mut file = UsersFile::load(path)?;
    let Some(user) = file.get_mut(username) else {
        bail!("no user `{username}` in {}", path.display());
    };
    change(user);
    file.save(path)?;
    Ok(())
}

pub fn run(config: &Config, command: UsersCommand) -> Result<()> {
    match command {
        UsersCommand::Hash => {
            println!("{}", hash(&read_password("Password")?)?);
        }
        UsersCommand::Add {
            username,
            name,
            email,
            roles,
            attributes: attrs,
            file,
        } => {
            let path = users_file(config, file)?;
            let known = Roles::new(config.auth.roles.clone());
            if let Some(r) = roles
                .iter()
                .find(|r| !known.names().any(|n| n == r.as_str()))
            {
                bail!(
                    "no role `{r}` in auth.roles (roles: {})",
                    known.names().collect::<Vec<_>>().join(", ")
                );
            }
            let mut users = UsersFile::load(&path)?;
            if users.get_mut(&username).is_some() {
                bail!(
                    "`{username}` already exists in {}: use `lantern users passwd`",
                    path.display()
                );
            }
            let record = UserRecord {
                username: username.clone(),
                password_hash: hash(&read_password(&format!("Password for {username}"))?)?,
                name,
                email,
                roles,
                attributes: attributes(&attrs)?,
                enabled: true,
            };
            record.check("the new user")?;
            users.users.push(record);
            users.save(&path)?;
            eprintln!("added `{username}` to {}", path.display());
        }
        UsersCommand::Passwd { username, file } => {
            let path = users_file(config, file)?;
            // The user must exist before the password is asked for.
            edit(&path, &username, |_| {})?;
            let password_hash = hash(&read_password(&format!("New password for {username}"))?)?;
            edit(&path, &username, |u| u.password_hash = password_hash)?;
            eprintln!("password of `{username}` changed");
        }
        UsersCommand::Disable { username, file } => {
            let path = users_file(config, file)?;
            edit(&path, &username, |u| u.enabled = false)?;
            eprintln!("`{username}` disabled");
        }
        UsersCommand::Enable { username, file } => {
            let path = users_file(config, file)?;
            edit(&path, &username, |u| u.enabled = true)?;
            eprintln!("`{username}` enabled");
        }
        UsersCommand::List { file, json } => {
            let path = users_file(config, file)?;
            let users = UsersFile::load(&path)?;
            if json {
                let out: Vec<_> = users
                    .users
                    .iter()
                    .map(|u| {
                        serde_json::json!({
                            "username": u.username, "name": u.name, "email": u.email,
                            "roles": u.roles, "attributes": u.attribute_lists(), "enabled": u.enabled,
                        })
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&out)?);
            } else {
                println!("{:<20} {:<24} {:<24} STATUS", "USER", "NAME", "ROLES");
                for u in &users.users {
                    println!(
                        "{:<20} {:<24} {:<24} {}",
                        u.username,
                        u.name.as_deref().unwrap_or("-"),
                        u.roles.join(","),
                        if u.enabled { "enabled" } else { "disabled" }
                    );
                }
            }
        }
    }
    Ok(())
}
