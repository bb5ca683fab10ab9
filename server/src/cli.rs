//! The command line: `ioc-server [OPTIONS] [COMMAND]`. The options are the settings' own
//! flags (declared on the settings, in [`crate::config`]) and `--config`, the TOML file to read
//! under them; the commands are the admin subcommands (users, display keys, gateways, backup
//! and restore), run here on the data directory's files.

use std::ffi::OsString;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, CommandFactory, FromArgMatches};

use crate::auth::audit::Audit;
use crate::auth::gateways::Gateways;
use crate::auth::{AuthStore, Lifetimes, Role, random_password};
use crate::backup;
use crate::config::{Config, ConfigError};
use crate::secret::Secret;

/// The command line, parsed.
#[derive(Debug, Clone)]
pub struct Cli {
    /// The admin subcommand; `None` serves.
    pub command: Option<Command>,
    /// The TOML configuration file (`--config`, `IOC_CONFIG`).
    pub config: Option<PathBuf>,
    /// The settings given as environment variables or flags.
    given: clap::ArgMatches,
}

/// What the command line has besides the settings: `--config` and the subcommands.
#[derive(Debug, clap::Parser)]
#[command(name = "ioc-server", version)]
struct Invocation {
    #[command(subcommand)]
    command: Option<Command>,
    /// A TOML configuration file (every setting is optional).
    #[arg(long, short, env = "IOC_CONFIG")]
    config: Option<PathBuf>,
}

impl Cli {
    /// The whole command: the subcommands, `--config`, then every setting's flag.
    pub fn command() -> clap::Command {
        // The about after the settings: the doc of a struct of flags becomes the about of the
        // command it is added to.
        Config::augment_args_for_update(Invocation::command())
            .about("The city operations center's server")
    }

    /// The process's command line and environment; on an error, or for `--help` and
    /// `--version`, prints and exits as clap does.
    pub fn parse() -> Cli {
        Cli::try_parse_from(std::env::args_os()).unwrap_or_else(|e| e.exit())
    }

    /// These arguments (the program's name first) and the process's environment.
    pub fn try_parse_from<I, T>(args: I) -> Result<Cli, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        let mut command = Cli::command();
        let given = command.try_get_matches_from_mut(args)?;
        let Invocation {
            command: sub,
            config,
        } = Invocation::from_arg_matches(&given).map_err(|e| e.format(&mut command))?;
        Ok(Cli {
            command: sub,
            config,
            given,
        })
    }

    /// The configuration: the defaults, the file, then the environment and flags; validated.
    pub fn config(&self) -> Result<Config, ConfigError> {
        Config::load(self.config.as_deref(), &self.given)
    }
}

/// What `ioc-server` does besides serving.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// Manages the users who may log in (in the data directory).
    #[command(subcommand)]
    User(UserCommand),
    /// Manages the keys of wall displays.
    #[command(subcommand, name = "display-key")]
    DisplayKey(KeyCommand),
    /// Manages the gateways that may publish, and what each may publish.
    #[command(subcommand)]
    Gateway(GatewayCommand),
    /// Copies the data directory into DIR (new or empty), consistently, while the server runs.
    Backup {
        /// Where the backup goes: a new or empty directory outside the data directory.
        dir: PathBuf,
    },
    /// Replaces the data directory's contents with the backup in DIR; the server must be
    /// stopped. What the directory held is kept aside as `<data_dir>.before-restore-<time>`.
    Restore {
        /// A directory `ioc-server backup` wrote.
        dir: PathBuf,
    },
}

#[derive(Debug, Clone, clap::Subcommand)]
pub enum GatewayCommand {
    /// Adds a gateway; prints its MQTT user name and password, once.
    Add {
        name: String,
        /// Area codes it may publish under, comma-separated, or `*`.
        #[arg(long, value_delimiter = ',', required = true)]
        areas: Vec<String>,
        /// Source ids it may publish as, comma-separated; `aqs-*` for a prefix, `*` for any.
        #[arg(long, value_delimiter = ',', required = true)]
        sources: Vec<String>,
    },
    /// Revokes a gateway: it can no longer connect nor publish.
    Revoke { name: String },
    /// Lists the gateways and their grants.
    List,
}

#[derive(Debug, Clone, clap::Subcommand)]
pub enum UserCommand {
    /// Adds a user; prints a random password, once.
    Add {
        name: String,
        /// admin, supervisor, officer, reporter or viewer.
        #[arg(long, default_value = "officer")]
        role: String,
        /// A reporter's unit: the district, department or office whose indicator values it
        /// submits (required of a reporter, and of no other role).
        #[arg(long)]
        unit: Option<String>,
    },
    /// Gives a user a new random password (printed once), enables them, ends their sessions.
    Reset { name: String },
    /// Disables a user and ends their sessions.
    Disable { name: String },
    /// Lists the users.
    List,
}

#[derive(Debug, Clone, clap::Subcommand)]
pub enum KeyCommand {
    /// Creates a display key; prints the wall's address, once.
    Add { name: String },
    /// Revokes a display key (its walls are cut off at once if the server runs).
    Revoke { id: String },
    /// Lists the display keys.
    List,
}

/// Checks that `unit` reports something in the server's indicator catalogue.
fn check_unit(unit: &str, config: &Config) -> anyhow::Result<()> {
    let city = crate::city::City::load(config.city_preset.as_deref())?;
    let catalogue =
        crate::indicators::load_catalogue(config.indicator_catalogue.as_deref(), &city)?;
    let units = catalogue.units();
    if units.contains(unit) {
        return Ok(());
    }
    let some: Vec<&str> = units.iter().copied().take(8).collect();
    anyhow::bail!(
        "{unit:?} reports no indicator of the catalogue: a unit is a district ({}), a \
         department or an office ({} units in all, such as {})",
        catalogue
            .areas
            .districts
            .first()
            .map_or("q1", String::as_str),
        units.len(),
        some.join(", ")
    )
}

/// `ioc-server user ...` and `ioc-server display-key ...`: on the data directory's files; a
/// running server sees the change at its next request.
pub fn run(command: &Command, config: &Config) -> anyhow::Result<()> {
    match command {
        Command::Backup { dir } => return run_backup(dir, config),
        Command::Restore { dir } => return run_restore(dir, config),
        _ => {}
    }
    let store = AuthStore::open(&config.data_dir, Lifetimes::default())
        .with_context(|| format!("cannot open the users of {}", config.data_dir.display()))?;
    let audit = Audit::open(&config.data_dir)?;
    let by = "command line";
    match command {
        Command::User(UserCommand::Add { name, role, unit }) => {
            let role: Role = role.parse().map_err(anyhow::Error::msg)?;
            if let Some(unit) = unit {
                check_unit(unit, config)?;
            }
            let password = random_password();
            store.add_user_of(name, role, unit.as_deref(), &password)?;
            let of = unit
                .as_ref()
                .map(|u| format!(" of {u}"))
                .unwrap_or_default();
            audit.record(by, "user_added", &format!("{name} ({role:?}{of})"), None);
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
                let unit = u.unit.as_deref().unwrap_or("-");
                println!(
                    "{}\t{:?}\t{unit}\t{state}\t{}",
                    u.name, u.role, u.created_at
                );
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
                 http://{}/wall/?key={secret}",
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
        Command::Backup { .. } | Command::Restore { .. } => unreachable!("handled above"),
    }
    Ok(())
}

/// `ioc-server backup DIR`: while the server runs or not.
fn run_backup(dir: &std::path::Path, config: &Config) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let manifest = backup::backup(&config.data_dir, dir)?;
    Audit::open(&config.data_dir)?.record(
        "command line",
        "backup_made",
        &dir.display().to_string(),
        None,
    );
    println!(
        "backup of {} written to {}: {} files, {:.1} MB, in {:.1} s",
        manifest.data_dir.display(),
        dir.display(),
        manifest.files.len(),
        manifest.bytes() as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    for left in &manifest.left_out {
        eprintln!("not copied: {} ({})", left.path, left.why);
    }
    Ok(())
}

/// `ioc-server restore DIR`: on a stopped server's data directory.
fn run_restore(dir: &std::path::Path, config: &Config) -> anyhow::Result<()> {
    let restored = backup::restore(dir, &config.data_dir)?;
    let m = &restored.manifest;
    let taken = m
        .started_at
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    Audit::open(&config.data_dir)?.record(
        "command line",
        "backup_restored",
        &format!("{} (taken {taken})", dir.display()),
        None,
    );
    println!(
        "restored {} into {}: the backup of {} taken at {} by ioc-server {}, {} files",
        dir.display(),
        config.data_dir.display(),
        m.data_dir.display(),
        taken,
        m.server_version,
        m.files.len()
    );
    match &restored.aside {
        Some(aside) => println!(
            "what the data directory held is kept in {}",
            aside.display()
        ),
        None => println!("the data directory was empty"),
    }
    for w in &restored.warnings {
        eprintln!("warning: {w}");
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
        .zip(config.mqtt.password.as_ref().map(Secret::expose));
    let (passwd, acl) =
        gateways.write_mosquitto_files(&config.data_dir.join("mosquitto"), subscriber)?;
    eprintln!(
        "for Mosquitto: password_file {} and acl_file {} written (send it SIGHUP to reload)",
        passwd.display(),
        acl.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn settings_flags_and_subcommands_together() {
        let cli = Cli::try_parse_from([
            "ioc-server",
            "--data-dir",
            "/tmp/ioc",
            "--mqtt-password",
            "pw",
            "gateway",
            "add",
            "g1",
            "--areas",
            "q1,q3",
            "--sources",
            "*",
        ])
        .unwrap();
        let Some(Command::Gateway(GatewayCommand::Add { name, areas, .. })) = &cli.command else {
            panic!("{:?}", cli.command);
        };
        assert_eq!((name.as_str(), areas.len()), ("g1", 2));
        let config = cli.config().unwrap();
        assert_eq!(config.data_dir, PathBuf::from("/tmp/ioc"));
        assert_eq!(
            config.mqtt.password.as_ref().map(Secret::expose),
            Some("pw")
        );
    }

    #[test]
    fn backup_and_restore_take_a_directory_and_the_servers_data_directory() {
        let cli = Cli::try_parse_from(["ioc-server", "--data-dir", "/srv/ioc", "backup", "/bk/1"])
            .unwrap();
        let Some(Command::Backup { dir }) = &cli.command else {
            panic!("{:?}", cli.command);
        };
        assert_eq!(dir, &PathBuf::from("/bk/1"));
        assert_eq!(cli.config().unwrap().data_dir, PathBuf::from("/srv/ioc"));
        let cli = Cli::try_parse_from(["ioc-server", "restore", "/bk/1"]).unwrap();
        assert!(matches!(&cli.command, Some(Command::Restore { dir }) if dir.ends_with("1")));
        let e = Cli::try_parse_from(["ioc-server", "restore"]).unwrap_err();
        assert_eq!(e.kind(), clap::error::ErrorKind::MissingRequiredArgument);
    }

    #[test]
    fn bad_values_are_the_command_lines_errors() {
        let e = Cli::try_parse_from(["ioc-server", "--http-listen", "nowhere"]).unwrap_err();
        assert_eq!(e.kind(), clap::error::ErrorKind::ValueValidation);
        let e = Cli::try_parse_from(["ioc-server", "--store", "sqlite"]).unwrap_err();
        assert_eq!(e.kind(), clap::error::ErrorKind::InvalidValue);
        let cli = Cli::try_parse_from(["ioc-server", "--coalesce-ms", "9000"]).unwrap();
        let e = cli.config().unwrap_err();
        assert!(e.to_string().contains("live.coalesce_ms"), "{e}");
    }
}
