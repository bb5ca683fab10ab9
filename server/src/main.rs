//! `ioc-server`: starts the operations center's server. See `ioc-server --help`.

use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use ioc_server::config::{Cli, Config};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config = Config::from_cli(&cli).context("invalid configuration")?;
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_new(&config.log)
                .with_context(|| format!("invalid log filter {:?}", config.log))?,
        )
        .with_writer(std::io::stderr)
        .init();

    let running = ioc_server::start(config).await?;
    // One line on stdout that scripts and tests wait for; everything else goes to stderr.
    match running.mqtt_addr {
        Some(mqtt) => println!(
            "ioc-server ready: http://{}/ (embedded MQTT broker on mqtt://{mqtt})",
            running.http_addr
        ),
        None => println!("ioc-server ready: http://{}/", running.http_addr),
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
