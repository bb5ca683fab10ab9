//! `ioc-server`: starts the operations center's server. See `ioc-server --help`.

use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use ioc_server::auth::audit::Audit;
use ioc_server::auth::gateways::Gateways;
use ioc_server::auth::{AuthStore, Lifetimes, Role, random_password};
use ioc_server::config::{
    Cli, Command, Config, GatewayCommand, KeyCommand, LogFormat, UserCommand,
};
use tracing_subscriber::EnvFilter;

// mimalloc instead of glibc's malloc: ingest allocates for every message on several threads, and
// glibc's allocator took about a quarter of the server's CPU under load (perf). Unpaced, with the
// embedded broker: 37,800-43,000 readings/s stored became 45,300-51,400 (docs/performance.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config = Config::from_cli(&cli).context("invalid configuration")?;
    if let Some(command) = &cli.command {
        return admin_command(command, &config);
    }
    let filter = EnvFilter::try_new(&config.log)
        .with_context(|| format!("invalid log filter {:?}", config.log))?;
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match config.log_format {
        LogFormat::Text => logs.init(),
        // One JSON object per line, its fields at the top level, for a log collector.
        LogFormat::Json => logs.json().flatten_event(true).init(),
    }

    let scheme = if config.http.tls_cert.is_some() {
        "https"
    } else {
        "http"
    };
    let running = ioc_server::start(config).await?;
    // One line on stdout that scripts and tests wait for; everything else goes to stderr.
    match running.mqtt_addr {
        Some(mqtt) => println!(
            "ioc-server ready: {scheme}://{}/ (embedded MQTT broker on mqtt://{mqtt})",
            running.http_addr
        ),
        None => println!("ioc-server ready: {scheme}://{}/", running.http_addr),
    }

    shutdown_signal().await;
    tracing::info!("shutting down");
    running.shutdown(Duration::from_secs(4)).await;
    Ok(())
}

/// `ioc-server user ...` and `ioc-server display-key ...`: on the data directory's files; a
/// running server sees the change at its next request.
fn admin_command(command: &Command, config: &Config) -> anyhow::Result<()> {
    let store = AuthStore::open(&config.data_dir, Lifetimes::default())
        .with_context(|| format!("cannot open the users of {}", config.data_dir.display()))?;
    let audit = Audit::open(&config.data_dir)?;
    let by = "command line";
    match command {
        Command::User(UserCommand::Add { name, role }) => {
            let role: Role = role.parse().map_err(anyhow::Error::msg)?;
            let password = random_password();
            store.add_user(name, role, &password)?;
            audit.record(by, "user_added", &format!("{name} ({role:?})"), None);
            println!("user {name} added; password (shown once): {password}");
        }
        Command::User(UserCommand::Reset { name }) => {
            let password = random_password();
            store.set_password(name, &password)?;
            audit.record(by, "password_reset", name, None);
            println!("user {name}: new password (shown once): {password}");
        }
        Command::User(UserCommand::Disable { name }) => {
            store.disable(name)?;
            audit.record(by, "user_disabled", name, None);
            println!("user {name} disabled; their sessions are ended");
        }
        Command::User(UserCommand::List) => {
            for u in store.users() {
                let state = if u.disabled { "disabled" } else { "active" };
                println!("{}\t{:?}\t{state}\t{}", u.name, u.role, u.created_at);
            }
        }
        Command::DisplayKey(KeyCommand::Add { name }) => {
            let (key, secret) = store.create_key(name, by)?;
            audit.record(
                by,
                "display_key_created",
                &format!("{} ({})", key.name, key.id),
                None,
            );
            println!(
                "display key {} ({}) created; open this address on the wall (shown once): \
                 http://{}/wall?key={secret}",
                key.name, key.id, config.http_listen
            );
        }
        Command::DisplayKey(KeyCommand::Revoke { id }) => {
            let key = store.revoke_key(id)?;
            audit.record(
                by,
                "display_key_revoked",
                &format!("{} ({})", key.name, key.id),
                None,
            );
            println!("display key {} ({}) revoked", key.name, key.id);
        }
        Command::Gateway(GatewayCommand::Add {
            name,
            areas,
            sources,
        }) => {
            let gateways = Gateways::open(&config.data_dir)?;
            let token = gateways.add(name, areas.clone(), sources.clone())?;
            audit.record(
                by,
                "gateway_added",
                &format!("{name}: areas {areas:?}, sources {sources:?}"),
                None,
            );
            mosquitto_files(&gateways, config)?;
            println!("gateway {name} added; MQTT user name {name}, password (shown once): {token}");
        }
        Command::Gateway(GatewayCommand::Revoke { name }) => {
            let gateways = Gateways::open(&config.data_dir)?;
            gateways.revoke(name)?;
            audit.record(by, "gateway_revoked", name, None);
            mosquitto_files(&gateways, config)?;
            println!("gateway {name} revoked");
        }
        Command::Gateway(GatewayCommand::List) => {
            for g in Gateways::open(&config.data_dir)?.list() {
                let state = g
                    .revoked_at
                    .map_or("active".to_owned(), |t| format!("revoked {t}"));
                println!(
                    "{}\t{}\t{}\t{state}",
                    g.name,
                    g.areas.join(","),
                    g.sources.join(",")
                );
            }
        }
        Command::DisplayKey(KeyCommand::List) => {
            for k in store.keys() {
                let state = k
                    .revoked_at
                    .map_or("active".to_owned(), |t| format!("revoked {t}"));
                println!("{}\t{}\t{state}", k.id, k.name);
            }
        }
    }
    Ok(())
}

/// Rewrites the password and ACL files for an external Mosquitto (`<data_dir>/mosquitto/`),
/// with the server's own MQTT user (`mqtt.username`, `mqtt.password`) as the reader.
fn mosquitto_files(gateways: &Gateways, config: &Config) -> anyhow::Result<()> {
    let subscriber = config
        .mqtt
        .username
        .as_deref()
        .zip(config.mqtt.password.as_deref());
    let (passwd, acl) =
        gateways.write_mosquitto_files(&config.data_dir.join("mosquitto"), subscriber)?;
    eprintln!(
        "for Mosquitto: password_file {} and acl_file {} written (send it SIGHUP to reload)",
        passwd.display(),
        acl.display()
    );
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("can listen for SIGTERM");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
