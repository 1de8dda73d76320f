//! `make dev`: creates the table, ensures the `demo` tenant's key, serves the API.

use std::path::PathBuf;

use shared::domain::auth::Scope;
use shared::domain::ids::TenantId;
use shared::http::Ctx;
use shared::store::Store;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    shared::http::init_tracing();
    let store = Store::local_from_env();
    store
        .ensure_table()
        .await
        .map_err(|e| format!("cannot create the table: {e}"))?;

    let key = demo_key(&store).await?;
    println!("Demo API key (tenant `demo`, read+write, every establishment):\n{key}");

    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("Allotments API on http://127.0.0.1:{port}");
    local_server::serve(listener, Ctx::new(store)).await?;
    Ok(())
}

/// Reuses `.local/dev-api-key` while it still works, else mints a new key.
async fn demo_key(store: &Store) -> Result<String, Box<dyn std::error::Error>> {
    let dir = PathBuf::from(std::env::var("LOCAL_DIR").unwrap_or_else(|_| ".local".into()));
    let file = dir.join("dev-api-key");
    if let Ok(existing) = std::fs::read_to_string(&file) {
        let existing = existing.trim().to_string();
        if let Ok(p) = store.authenticate(&existing).await {
            if p.tenant.as_str() == "demo" && p.establishments.is_none() && p.scopes.len() == 2 {
                return Ok(existing);
            }
        }
    }
    let tenant = TenantId::parse("demo").map_err(|e| e.to_string())?;
    let (_, key) = store
        .create_key(&tenant, None, &[Scope::Read, Scope::Write], chrono_now())
        .await
        .map_err(|e| format!("cannot create the demo key: {e}"))?;
    std::fs::create_dir_all(&dir)?;
    std::fs::write(&file, format!("{key}\n"))?;
    Ok(key)
}

fn chrono_now() -> shared::Instant {
    shared::Instant::from(std::time::SystemTime::now())
}
