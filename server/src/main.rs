//! `ioc-server`: starts the operations center's server, or runs an admin command. See
//! `ioc-server --help`; the command line is `ioc_server::cli`, the settings `ioc_server::config`.

use std::time::Duration;

use anyhow::Context;
use ioc_server::cli::{self, Cli};
use ioc_server::config::{Config, LogFormat};
use tracing_subscriber::EnvFilter;

// mimalloc instead of glibc's malloc: ingest allocates for every message on several threads, and
// glibc's allocator took about a quarter of the server's CPU under load (perf). Unpaced, with the
// embedded broker: 37,800-43,000 readings/s stored became 45,300-51,400 (docs/performance.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config = cli.config().context("invalid configuration")?;
    match &cli.command {
        Some(command) => cli::run(command, &config),
        None => serve(config).await,
    }
}

/// Serves until SIGINT or SIGTERM, logging to stderr.
async fn serve(config: Config) -> anyhow::Result<()> {
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
            "ioc-server ready: {scheme}://{}/ (embedded MQTT endpoint on mqtt://{mqtt})",
            running.http_addr
        ),
        None => println!("ioc-server ready: {scheme}://{}/", running.http_addr),
    }

    shutdown_signal().await;
    tracing::info!("shutting down");
    running.shutdown(Duration::from_secs(4)).await;
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
