//! A PostgreSQL connection string, parsed once and shown without its
//! password: the banner, logs and errors only ever print [`PgUrl`]'s
//! `Display`, which has none.

use std::str::FromStr;
use std::time::Duration;

use tokio_postgres::config::Host;

/// How long connecting may take before it counts as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Clone)]
pub struct PgUrl {
    config: tokio_postgres::Config,
    shown: String,
}

impl PgUrl {
    /// Parses a `postgres://` URL or a `key=value` connection string. The
    /// error never repeats the text, which may hold a password.
    pub fn parse(text: &str) -> anyhow::Result<PgUrl> {
        let mut config = tokio_postgres::Config::from_str(text).map_err(|_| {
            anyhow::anyhow!(
                "--postgres is not a PostgreSQL connection URL like postgres://user@host:5432/lanchat"
            )
        })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("lanchat");
        }
        let shown = show(&config);
        Ok(PgUrl { config, shown })
    }

    pub fn config(&self) -> &tokio_postgres::Config {
        &self.config
    }
}

/// `postgres://user@host:port/dbname`, without the password.
fn show(config: &tokio_postgres::Config) -> String {
    let user = config
        .get_user()
        .map(|user| format!("{user}@"))
        .unwrap_or_default();
    let ports = config.get_ports();
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, host)| {
            let host = match host {
                Host::Tcp(name) => name.clone(),
                #[cfg(unix)]
                Host::Unix(path) => path.display().to_string(),
            };
            match ports.get(i).or(ports.first()) {
                Some(port) => format!("{host}:{port}"),
                None => host,
            }
        })
        .collect();
    let db = config.get_dbname().unwrap_or_default();
    format!("postgres://{user}{}/{db}", hosts.join(","))
}

impl std::fmt::Display for PgUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown)
    }
}

impl std::fmt::Debug for PgUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown)
    }
}

impl PartialEq for PgUrl {
    fn eq(&self, other: &PgUrl) -> bool {
        self.shown == other.shown
    }
}

impl Eq for PgUrl {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_is_never_shown() {
        let url = PgUrl::parse("postgres://ana:s3cret@db.lan:5433/chat").unwrap();
        assert_eq!(url.to_string(), "postgres://ana@db.lan:5433/chat");
        assert!(!format!("{url:?}").contains("s3cret"));
        let keys = PgUrl::parse("host=/run/pg user=ana password=s3cret dbname=chat").unwrap();
        assert!(!keys.to_string().contains("s3cret"));
        let bad = PgUrl::parse("postgres://ana:s3cret@db:notaport/chat").unwrap_err();
        assert!(!format!("{bad:#}").contains("s3cret"));
    }
}
