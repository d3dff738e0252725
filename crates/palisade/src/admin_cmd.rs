//! `palisade user`, `palisade token` and `palisade audit`: administration of
//! the console from the command line, on the store in a data directory. Each
//! change is written to the audit log with the actor `cli`.

use palisade_store::StoreSpec;
use std::process::ExitCode;

use palisade_console::{Role, users};

fn role(s: &str) -> anyhow::Result<Role> {
    s.parse()
        .map_err(|e: palisade_console::ApiError| anyhow::anyhow!("{}", e.message))
}

fn fail(e: palisade_console::ApiError) -> anyhow::Error {
    anyhow::anyhow!("{}", e.message)
}

/// `palisade user add NAME --role ROLE`: the password comes from
/// `PALISADE_PASSWORD`, the terminal (no echo) or standard input.
pub fn user_add(store: &StoreSpec, name: &str, role_name: &str) -> anyhow::Result<ExitCode> {
    let role = role(role_name)?;
    let password = users::read_new_password(name).map_err(fail)?;
    let u = users::cli_add_user(store, name, role, &password).map_err(fail)?;
    println!("user {} created with role {}", u.name, u.role);
    Ok(ExitCode::SUCCESS)
}

/// `palisade token create --role ROLE`: prints the token once, on stdout.
pub fn token_create(store: &StoreSpec, role_name: &str, name: &str) -> anyhow::Result<ExitCode> {
    let role = role(role_name)?;
    let t = users::cli_create_token(store, role, name).map_err(fail)?;
    eprintln!(
        "token {} ({}, role {}): shown once; send it as Authorization: Bearer <token>",
        t.id, t.name, t.role
    );
    println!("{}", t.token);
    Ok(ExitCode::SUCCESS)
}

/// `palisade audit verify`: exit 0 with the count, or 1 naming the first
/// broken entry.
pub fn audit_verify(store: &StoreSpec) -> anyhow::Result<ExitCode> {
    let r = users::cli_verify_audit(store).map_err(fail)?;
    match &r.broken {
        None => {
            println!(
                "audit log intact: {} entries{}",
                r.entries,
                r.head_hash
                    .as_deref()
                    .map(|h| format!(", head {h}"))
                    .unwrap_or_default()
            );
            Ok(ExitCode::SUCCESS)
        }
        Some(b) => {
            eprintln!(
                "audit log BROKEN at entry {}: {} ({} entries before it verify)",
                b.seq, b.reason, r.entries
            );
            Ok(ExitCode::from(1))
        }
    }
}
