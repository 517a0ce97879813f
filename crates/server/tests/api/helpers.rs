//! `TestApp`: a real server on 127.0.0.1 port 0 with a fresh SQLite database, and typed
//! request helpers.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::{Connection, PgConnection};
use tokio::sync::oneshot;
use xcert_server::{Config, Storage};

pub(crate) const ADMIN_PASSWORD: &str = "first admin password 1";

/// A directory of its own under the system temp dir, removed on drop.
#[derive(Debug)]
pub(crate) struct ScratchDir(pub(crate) PathBuf);

impl ScratchDir {
    pub(crate) fn new() -> Self {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let unique = format!(
            "xcert-test-{}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        );
        let path = std::env::temp_dir().join(unique);
        std::fs::create_dir_all(&path).expect("create a scratch directory");
        Self(path)
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running server and a client for it.
#[derive(Debug)]
pub(crate) struct TestApp {
    pub(crate) base: String,
    pub(crate) client: reqwest::Client,
    pub(crate) database_url: String,
    shutdown: Option<oneshot::Sender<()>>,
    postgres_schema: Option<PostgresSchema>,
    _dir: ScratchDir,
}

/// A PostgreSQL schema made for one test and dropped when the test ends.
#[derive(Debug)]
pub(crate) struct PostgresSchema {
    pub(crate) name: String,
    server_url: String,
}

impl PostgresSchema {
    pub(crate) async fn create(server_url: &str) -> Self {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let name = format!(
            "xcert_api_{}_{}_{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let mut connection = PgConnection::connect(server_url)
            .await
            .expect("connect to XCERT_TEST_DATABASE_URL");
        sqlx::query(&format!("CREATE SCHEMA {name}"))
            .execute(&mut connection)
            .await
            .expect("create a schema");
        let _ = connection.close().await;
        Self {
            name,
            server_url: server_url.to_owned(),
        }
    }

    /// Drops the schema from a thread of its own: `Drop` cannot wait on the test's runtime.
    fn drop_now(&self) {
        let (name, url) = (self.name.clone(), self.server_url.clone());
        let dropper = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async {
                if let Ok(mut connection) = PgConnection::connect(&url).await {
                    let _ = sqlx::query(&format!("DROP SCHEMA IF EXISTS {name} CASCADE"))
                        .execute(&mut connection)
                        .await;
                    let _ = connection.close().await;
                }
            });
        });
        let _ = dropper.join();
    }
}

/// A response: status, headers and the body parsed as JSON (`Value::Null` when empty).
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) headers: reqwest::header::HeaderMap,
    pub(crate) body: Value,
}

impl Reply {
    /// Asserts the contract's error shape with `code`, and returns the message.
    pub(crate) fn assert_error(&self, status: StatusCode, code: &str) -> String {
        assert_eq!(self.status, status, "body: {}", self.body);
        assert_eq!(self.body["error"]["code"], code, "body: {}", self.body);
        let message = self.body["error"]["message"]
            .as_str()
            .expect("a message")
            .to_owned();
        assert!(!message.is_empty());
        message
    }
}

impl TestApp {
    pub(crate) async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    /// Starts a server after `adjust` has changed the default test configuration.
    pub(crate) async fn spawn_with(adjust: impl FnOnce(&mut Config)) -> Self {
        let dir = ScratchDir::new();
        let (database_url, postgres_schema) = match std::env::var("XCERT_TEST_DATABASE_URL") {
            // With a PostgreSQL server named, every API test runs there, in a schema of its own.
            Ok(url) => {
                let schema = PostgresSchema::create(&url).await;
                let separator = if url.contains('?') { '&' } else { '?' };
                (
                    format!("{url}{separator}options[search_path]={}", schema.name),
                    Some(schema),
                )
            }
            Err(_) => (
                format!("sqlite://{}", dir.0.join("xcert.sqlite").display()),
                None,
            ),
        };
        let mut config = Config::for_database(database_url.clone());
        config.admin_password = Some(ADMIN_PASSWORD.to_owned());
        adjust(&mut config);
        let listener = xcert_server::bind("127.0.0.1:0")
            .await
            .expect("bind port 0");
        let port = listener.local_addr().expect("local address").port();
        let (shutdown, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let result = xcert_server::launch(listener, config, async {
                let _ = stopped.await;
            })
            .await;
            if let Err(error) = result {
                panic!("the server failed: {error}");
            }
        });
        Self {
            base: format!("http://127.0.0.1:{port}"),
            client: reqwest::Client::new(),
            database_url,
            shutdown: Some(shutdown),
            postgres_schema,
            _dir: dir,
        }
    }

    /// Opens the test server's database directly, to check what it stored.
    pub(crate) async fn storage(&self) -> Storage {
        Storage::connect(&self.database_url)
            .await
            .expect("open the test database")
    }

    pub(crate) async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Reply {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        Self::reply(request.send().await.expect("the server answers")).await
    }

    /// Sends raw bytes as `content_type`, for bodies JSON serialization would not produce.
    pub(crate) async fn send_raw(&self, path: &str, content_type: &str, body: Vec<u8>) -> Reply {
        let request = self
            .client
            .post(format!("{}{path}", self.base))
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(body);
        Self::reply(request.send().await.expect("the server answers")).await
    }

    async fn reply(response: reqwest::Response) -> Reply {
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.expect("read the body");
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&bytes)))
        };
        Reply {
            status,
            headers,
            body,
        }
    }

    pub(crate) async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        self.request(Method::GET, path, token, None).await
    }

    pub(crate) async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> Reply {
        self.request(Method::POST, path, token, Some(body)).await
    }

    pub(crate) async fn login(&self, username: &str, password: &str) -> Reply {
        self.post(
            "/api/v1/staff/sessions",
            None,
            &json!({"username": username, "password": password}),
        )
        .await
    }

    /// Logs in and returns the token, failing the test if login fails.
    pub(crate) async fn token(&self, username: &str, password: &str) -> String {
        let reply = self.login(username, password).await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "login of {username}: {}",
            reply.body
        );
        reply.body["token"].as_str().expect("a token").to_owned()
    }

    pub(crate) async fn admin_token(&self) -> String {
        self.token("admin", ADMIN_PASSWORD).await
    }

    /// Creates an organization as `token` and returns its id.
    pub(crate) async fn create_organization(&self, token: &str, code: &str) -> String {
        let reply = self
            .post(
                "/api/v1/organizations",
                Some(token),
                &json!({"code": code, "name": format!("{code} Evaluation")}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        reply.body["id"].as_str().expect("an id").to_owned()
    }

    /// Creates a staff account of `role` in organization `organization` as `token`.
    pub(crate) async fn create_staff(
        &self,
        token: &str,
        organization: &str,
        username: &str,
        role: &str,
    ) -> Reply {
        self.post(
            &format!("/api/v1/organizations/{organization}/staff"),
            Some(token),
            &json!({"username": username, "password": format!("{username} password 12"), "role": role}),
        )
        .await
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(schema) = self.postgres_schema.take() {
            schema.drop_now();
        }
    }
}
