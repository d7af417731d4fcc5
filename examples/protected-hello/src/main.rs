//! A service of two routes behind the sign-in: `/` greets whoever signed in through the
//! SSO, `/health` answers anyone. Set `PORT`, `SSO_URL`, `SSO_CLIENT_ID`,
//! `SSO_CLIENT_SECRET`, and `REDIS_ENDPOINT` (sessions in memory without it).
use axum::{routing::get, Extension, Router};
use session_store::{AnyStore, MemoryStore, RedisSettings, RedisStore, StoreTtls};
use sso_client::{SsoClient, SsoSettings};
use sso_gate::{GateLayer, GateSettings, Person};

type Error = Box<dyn std::error::Error>;

fn var(name: &str) -> Result<String, Error> {
    std::env::var(name).map_err(|_| format!("{name} is not set").into())
}

// Only signed-in requests get here: the gate put who is asking in the extensions.
async fn hello(Extension(_person): Extension<Person>) -> &'static str {
    "Hello, signed-in person!\n"
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let sso_url = var("SSO_URL")?;
    let sso = SsoClient::new(SsoSettings::new(
        &sso_url,
        &sso_url,
        var("SSO_CLIENT_ID")?,
        var("SSO_CLIENT_SECRET")?,
    ))?;
    let store = match var("REDIS_ENDPOINT") {
        Ok(url) => AnyStore::Redis(RedisStore::new(RedisSettings::new(url))?),
        Err(_) => AnyStore::Memory(MemoryStore::new(StoreTtls::default())),
    };
    let settings = GateSettings {
        public_paths: vec!["health".into()],
        ..GateSettings::default()
    };
    let app = Router::new()
        .route("/", get(hello))
        .route("/health", get(|| async { "ok\n" }))
        .layer(GateLayer::new(store, sso, settings));
    let port: u16 = var("PORT")?.parse()?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    axum::serve(listener, app).await?;
    Ok(())
}
