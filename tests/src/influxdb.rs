//! The InfluxDB 2 the whole suite runs against when `IOC_TEST_INFLUXDB_URL` is set.
//!
//! With `IOC_TEST_INFLUXDB_URL`, `IOC_TEST_INFLUXDB_ORG` and `IOC_TEST_INFLUXDB_TOKEN` set,
//! every [`crate::TestServer`] whose test does not choose a store itself runs with
//! `--store influxdb` against that server, in a bucket of its own: created before the server
//! starts, kept across a crash and restart, deleted when the last handle on it is dropped.
//! Tests run in parallel and many publish the same sources, so one shared bucket would mix
//! their readings. The bucket is named after `IOC_TEST_INFLUXDB_BUCKET` (default
//! `ioc-test`), the test process and a counter. The token must be allowed to create and
//! delete buckets in the organisation (an all-access token, or one with read and write on
//! buckets).
//!
//! No InfluxDB 2 can be installed on the CI machines, so without the variables the suite uses
//! the embedded store and this module does nothing.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};

const TIMEOUT: Duration = Duration::from_secs(30);

/// The InfluxDB 2 named by the environment. Its `Debug` leaves the token out.
#[derive(Clone)]
pub struct TestInfluxdb {
    pub url: String,
    pub org: String,
    pub token: String,
    /// The prefix of the buckets made for test servers.
    pub bucket_prefix: String,
}

impl std::fmt::Debug for TestInfluxdb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestInfluxdb")
            .field("url", &self.url)
            .field("org", &self.org)
            .field("token", &"(hidden)")
            .field("bucket_prefix", &self.bucket_prefix)
            .finish()
    }
}

impl TestInfluxdb {
    /// The server named by `IOC_TEST_INFLUXDB_URL` and its companions, or `None` when it is
    /// not set. An URL without its organisation or token is an error, said with the name of
    /// the missing variable.
    pub fn from_env() -> anyhow::Result<Option<TestInfluxdb>> {
        TestInfluxdb::from_vars(|name| std::env::var(name).ok())
    }

    /// The same, from any source of variables.
    fn from_vars(var: impl Fn(&str) -> Option<String>) -> anyhow::Result<Option<TestInfluxdb>> {
        let set = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        let Some(url) = set("IOC_TEST_INFLUXDB_URL") else {
            return Ok(None);
        };
        let needed = |name: &str| {
            set(name).with_context(|| format!("IOC_TEST_INFLUXDB_URL is set but {name} is not"))
        };
        Ok(Some(TestInfluxdb {
            url: url.trim().trim_end_matches('/').to_owned(),
            org: needed("IOC_TEST_INFLUXDB_ORG")?,
            token: needed("IOC_TEST_INFLUXDB_TOKEN")?,
            bucket_prefix: set("IOC_TEST_INFLUXDB_BUCKET").unwrap_or_else(|| "ioc-test".to_owned()),
        }))
    }

    /// A new, empty bucket of its own (no retention: the test's readings may be days old).
    pub fn create_bucket(&self) -> anyhow::Result<TestBucket> {
        let name = self.next_bucket_name();
        let influx = self.clone();
        let bucket_name = name.clone();
        let id = off_runtime(move || async move {
            let http = reqwest::Client::builder().timeout(TIMEOUT).build()?;
            let auth = format!("Token {}", influx.token);
            let r = http
                .get(format!("{}/api/v2/orgs", influx.url))
                .query(&[("org", influx.org.as_str())])
                .header(reqwest::header::AUTHORIZATION, &auth)
                .send()
                .await
                .with_context(|| format!("cannot reach InfluxDB at {}", influx.url))?;
            let orgs: serde_json::Value = json_or_error(r, "looking up the organisation").await?;
            let org_id = orgs["orgs"]
                .as_array()
                .and_then(|o| o.first())
                .and_then(|o| o["id"].as_str())
                .with_context(|| {
                    format!(
                        "InfluxDB at {} has no organisation {:?} that this token can see",
                        influx.url, influx.org
                    )
                })?
                .to_owned();
            let r = http
                .post(format!("{}/api/v2/buckets", influx.url))
                .header(reqwest::header::AUTHORIZATION, &auth)
                .json(&serde_json::json!({
                    "orgID": org_id,
                    "name": bucket_name,
                    "description": "made by ioc-tests for one test server; deleted after it",
                    "retentionRules": [],
                }))
                .send()
                .await?;
            let made: serde_json::Value = json_or_error(
                r,
                "creating a bucket (the token must be allowed to create buckets)",
            )
            .await?;
            Ok(made["id"]
                .as_str()
                .context("InfluxDB created a bucket but gave no id")?
                .to_owned())
        })?;
        Ok(TestBucket {
            influx: self.clone(),
            name,
            id,
        })
    }

    /// A name no other test server has: the prefix, the test process, a counter and the time
    /// (so that a bucket left by a killed run is not taken for this one's).
    fn next_bucket_name(&self) -> String {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        format!(
            "{}-{}-{}-{}",
            self.bucket_prefix,
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed),
            crate::now_ms()
        )
    }
}

/// A bucket made for one test server; deleted on drop.
#[derive(Debug)]
pub struct TestBucket {
    pub influx: TestInfluxdb,
    pub name: String,
    id: String,
}

impl TestBucket {
    /// The server's arguments for this bucket (the token goes in its environment instead).
    pub fn server_args(&self) -> Vec<String> {
        [
            "--store",
            "influxdb",
            "--influxdb-url",
            &self.influx.url,
            "--influxdb-org",
            &self.influx.org,
            "--influxdb-bucket",
            &self.name,
        ]
        .iter()
        .map(|a| (*a).to_owned())
        .collect()
    }
}

impl Drop for TestBucket {
    fn drop(&mut self) {
        let influx = self.influx.clone();
        let id = self.id.clone();
        let done = off_runtime(move || async move {
            let r = reqwest::Client::builder()
                .timeout(TIMEOUT)
                .build()?
                .delete(format!("{}/api/v2/buckets/{id}", influx.url))
                .header(
                    reqwest::header::AUTHORIZATION,
                    format!("Token {}", influx.token),
                )
                .send()
                .await?;
            if !r.status().is_success() {
                bail!("{} {}", r.status(), r.text().await.unwrap_or_default());
            }
            Ok(())
        });
        if let Err(e) = done {
            eprintln!("could not delete the test bucket {}: {e:#}", self.name);
        }
    }
}

/// The body of a successful response as JSON, or InfluxDB's own error message.
async fn json_or_error(r: reqwest::Response, doing: &str) -> anyhow::Result<serde_json::Value> {
    let status = r.status();
    let body = r.text().await.unwrap_or_default();
    if !status.is_success() {
        bail!("InfluxDB refused {doing}: {status} {body}");
    }
    serde_json::from_str(&body).with_context(|| format!("InfluxDB's answer to {doing}: {body}"))
}

/// Runs an async request on a thread and runtime of its own, so that it can be called from
/// synchronous code (the server's launch, a `Drop`) whether or not a runtime is running.
fn off_runtime<T, F, Fut>(f: F) -> anyhow::Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = anyhow::Result<T>>,
{
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
            .block_on(f())
    })
    .join()
    .map_err(|_| anyhow::anyhow!("the InfluxDB request's thread panicked"))?
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        }
    }

    #[test]
    fn without_an_url_the_suite_keeps_the_embedded_store() {
        assert!(TestInfluxdb::from_vars(vars(&[])).unwrap().is_none());
        // An empty URL is no URL, whatever else is set.
        let only_org = vars(&[
            ("IOC_TEST_INFLUXDB_URL", " "),
            ("IOC_TEST_INFLUXDB_ORG", "ioc"),
        ]);
        assert!(TestInfluxdb::from_vars(only_org).unwrap().is_none());
    }

    #[test]
    fn an_url_without_its_org_or_token_is_an_error_that_names_the_variable() {
        let no_org = vars(&[
            ("IOC_TEST_INFLUXDB_URL", "http://influx:8086"),
            ("IOC_TEST_INFLUXDB_TOKEN", "t"),
        ]);
        let e = TestInfluxdb::from_vars(no_org).unwrap_err().to_string();
        assert!(e.contains("IOC_TEST_INFLUXDB_ORG"), "{e}");
        let no_token = vars(&[
            ("IOC_TEST_INFLUXDB_URL", "http://influx:8086"),
            ("IOC_TEST_INFLUXDB_ORG", "ioc"),
        ]);
        let e = TestInfluxdb::from_vars(no_token).unwrap_err().to_string();
        assert!(e.contains("IOC_TEST_INFLUXDB_TOKEN"), "{e}");
    }

    #[test]
    fn a_named_server_gives_each_test_server_a_bucket_of_its_own() {
        let influx = TestInfluxdb::from_vars(vars(&[
            ("IOC_TEST_INFLUXDB_URL", "http://influx:8086/"),
            ("IOC_TEST_INFLUXDB_ORG", "ioc"),
            ("IOC_TEST_INFLUXDB_TOKEN", "secret"),
        ]))
        .unwrap()
        .expect("named");
        assert_eq!(influx.url, "http://influx:8086");
        assert_eq!(influx.bucket_prefix, "ioc-test");
        assert!(!format!("{influx:?}").contains("secret"), "{influx:?}");
        let prefixed = TestInfluxdb::from_vars(vars(&[
            ("IOC_TEST_INFLUXDB_URL", "http://influx:8086"),
            ("IOC_TEST_INFLUXDB_ORG", "ioc"),
            ("IOC_TEST_INFLUXDB_TOKEN", "secret"),
            ("IOC_TEST_INFLUXDB_BUCKET", "ci"),
        ]))
        .unwrap()
        .expect("named");
        assert_eq!(prefixed.bucket_prefix, "ci");
        let (a, b) = (prefixed.next_bucket_name(), prefixed.next_bucket_name());
        assert_ne!(a, b);
        assert!(a.starts_with("ci-") && b.starts_with("ci-"), "{a} {b}");
    }
}
