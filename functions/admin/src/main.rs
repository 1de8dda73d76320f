//! `admin key create|revoke|list`: the only way API keys are made.
//!
//! Reaches the store named by `DYNAMODB_ENDPOINT` and `TABLE_NAME` (defaults: DynamoDB
//! Local on 127.0.0.1:8000 and `allotments`). `DYNAMODB_ENDPOINT=aws` uses the AWS
//! endpoint and credentials of the environment.

use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use shared::domain::auth::{is_key_id, Scope};
use shared::domain::ids::{parse_uuid, TenantId};
use shared::store::Store;

#[derive(Parser)]
#[command(name = "admin", about = "Allotments administration")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// API keys
    Key {
        #[command(subcommand)]
        action: KeyAction,
    },
}

#[derive(Subcommand)]
enum KeyAction {
    /// Mint a key and print it (shown once; only its hash is stored)
    Create {
        /// Tenant name (created if unknown)
        #[arg(long)]
        tenant: String,
        /// Limit the key to these establishments (default: every establishment)
        #[arg(long = "establishment", value_name = "UUID")]
        establishments: Vec<String>,
        /// Scopes (default: read and write)
        #[arg(long = "scope", value_enum)]
        scopes: Vec<ScopeArg>,
    },
    /// Revoke a key by its id (the part before the dot)
    Revoke { key_id: String },
    /// List a tenant's keys, one per line, starting with the key id
    List {
        #[arg(long)]
        tenant: String,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum ScopeArg {
    Read,
    Write,
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn store() -> Result<Store, String> {
    if std::env::var("DYNAMODB_ENDPOINT").as_deref() == Ok("aws") {
        let table = std::env::var("TABLE_NAME").map_err(|_| "TABLE_NAME is not set")?;
        return Ok(Store::aws(&table).await);
    }
    let store = Store::local_from_env();
    store
        .ensure_table()
        .await
        .map_err(|e| format!("cannot reach the table {}: {e}", store.table()))?;
    Ok(store)
}

async fn run(cli: Cli) -> Result<(), String> {
    let Command::Key { action } = cli.command;
    match action {
        KeyAction::Create {
            tenant,
            establishments,
            scopes,
        } => {
            let tenant = TenantId::parse(&tenant)?;
            let ids = establishments
                .iter()
                .map(|e| parse_uuid(e).ok_or_else(|| format!("--establishment {e}: not a UUID")))
                .collect::<Result<Vec<_>, _>>()?;
            let mut scopes: Vec<Scope> = scopes
                .iter()
                .map(|s| match s {
                    ScopeArg::Read => Scope::Read,
                    ScopeArg::Write => Scope::Write,
                })
                .collect();
            if scopes.is_empty() {
                scopes = vec![Scope::Read, Scope::Write];
            }
            let establishments = (!ids.is_empty()).then_some(ids.as_slice());
            let (_, key) = store()
                .await?
                .create_key(&tenant, establishments, &scopes, chrono_now())
                .await
                .map_err(|e| e.to_string())?;
            println!("{key}");
        }
        KeyAction::Revoke { key_id } => {
            if !is_key_id(&key_id) {
                return Err(format!(
                    "{key_id}: not a key id (the part of the key before the dot)"
                ));
            }
            if !store()
                .await?
                .revoke_key(&key_id)
                .await
                .map_err(|e| e.to_string())?
            {
                return Err(format!("no key {key_id}"));
            }
            eprintln!("revoked {key_id}");
        }
        KeyAction::List { tenant } => {
            let tenant = TenantId::parse(&tenant)?;
            for k in store()
                .await?
                .list_keys(&tenant)
                .await
                .map_err(|e| e.to_string())?
            {
                let scope = k
                    .principal
                    .scopes
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(",");
                let establishments = match &k.principal.establishments {
                    None => "all".to_string(),
                    Some(list) => list
                        .iter()
                        .map(|u| u.to_string())
                        .collect::<Vec<_>>()
                        .join(","),
                };
                let state = if k.revoked { "revoked" } else { "active" };
                println!(
                    "{} {state} scopes={scope} establishments={establishments} created={}",
                    k.principal.key_id, k.created_at
                );
            }
        }
    }
    Ok(())
}

fn chrono_now() -> shared::Instant {
    shared::Instant::from(std::time::SystemTime::now())
}
