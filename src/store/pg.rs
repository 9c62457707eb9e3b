//! PostgreSQL underneath [`super::Db`] (interim version; the full module replaces it).

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use bytes::BytesMut;
use postgres::fallible_iterator::FallibleIterator;
use postgres::types::{FromSql, IsNull, ToSql, Type, to_sql_checked};
use postgres::{Client, NoTls, Statement};

use super::value::Value;

pub const CHANNEL: &str = "pitwall";

pub struct PgConn {
    client: RefCell<Client>,
    statements: RefCell<HashMap<String, Statement>>,
    url: String,
}

fn setup(client: &mut Client) -> Result<(), postgres::Error> {
    let ms = super::busy_timeout().as_millis();
    client.batch_execute(&format!(
        "SET TIME ZONE 'UTC'; SET application_name = 'pitwall'; SET lock_timeout = {ms}"
    ))
}

impl PgConn {
    pub fn connect(url: &str) -> Result<PgConn, postgres::Error> {
        let mut client = Client::connect(url, NoTls)?;
        setup(&mut client)?;
        Ok(PgConn {
            client: RefCell::new(client),
            statements: RefCell::new(HashMap::new()),
            url: url.to_string(),
        })
    }

    fn statement(&self, sql: &str) -> Result<Statement, postgres::Error> {
        if let Some(s) = self.statements.borrow().get(sql) {
            return Ok(s.clone());
        }
        let s = self.client.borrow_mut().prepare(sql)?;
        self.statements
            .borrow_mut()
            .insert(sql.to_string(), s.clone());
        Ok(s)
    }

    pub fn execute(&self, sql: &str, params: &[Value]) -> Result<u64, postgres::Error> {
        let stmt = self.statement(sql)?;
        let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|v| v as _).collect();
        self.client.borrow_mut().execute(&stmt, &refs)
    }

    pub fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<Vec<Value>>, postgres::Error> {
        let stmt = self.statement(sql)?;
        let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|v| v as _).collect();
        let rows = self.client.borrow_mut().query(&stmt, &refs)?;
        rows.iter()
            .map(|r| (0..r.len()).map(|i| r.try_get::<_, Value>(i)).collect())
            .collect()
    }

    pub fn batch(&self, sql: &str) -> Result<(), postgres::Error> {
        self.client.borrow_mut().batch_execute(sql)
    }

    pub fn is_closed(&self) -> bool {
        self.client.borrow().is_closed()
    }

    pub fn reconnect(&self) -> Result<(), postgres::Error> {
        let mut client = Client::connect(&self.url, NoTls)?;
        setup(&mut client)?;
        *self.client.borrow_mut() = client;
        self.statements.borrow_mut().clear();
        Ok(())
    }

    pub fn url(&self) -> &str {
        &self.url
    }
}

fn state(e: &postgres::Error) -> Option<&str> {
    e.code().map(|c| c.code())
}

pub fn is_retryable(e: &postgres::Error) -> bool {
    matches!(state(e), Some("40001" | "40P01"))
}

pub fn is_connection_lost(e: &postgres::Error) -> bool {
    e.is_closed()
        || matches!(
            state(e),
            Some("57P01" | "57P02" | "57P03" | "08006" | "08003")
        )
}

pub fn is_unique_violation(e: &postgres::Error) -> bool {
    state(e) == Some("23505")
}

pub fn is_busy(e: &postgres::Error) -> bool {
    matches!(state(e), Some("55P03" | "57014"))
}

impl ToSql for Value {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Value::Null => Ok(IsNull::Yes),
            Value::Integer(i) => match *ty {
                Type::INT8 => i.to_sql(ty, out),
                Type::INT4 => i32::try_from(*i)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(*i)?.to_sql(ty, out),
                Type::FLOAT8 => (*i as f64).to_sql(ty, out),
                Type::FLOAT4 => (*i as f32).to_sql(ty, out),
                Type::BOOL => (*i != 0).to_sql(ty, out),
                _ => {
                    out.extend_from_slice(i.to_string().as_bytes());
                    Ok(IsNull::No)
                }
            },
            Value::Real(f) => match *ty {
                Type::FLOAT4 => (*f as f32).to_sql(ty, out),
                Type::FLOAT8 => f.to_sql(ty, out),
                _ => {
                    out.extend_from_slice(f.to_string().as_bytes());
                    Ok(IsNull::No)
                }
            },
            Value::Text(s) => match *ty {
                Type::JSONB => {
                    out.extend_from_slice(&[1]);
                    out.extend_from_slice(s.as_bytes());
                    Ok(IsNull::No)
                }
                Type::INT8 => s.parse::<i64>()?.to_sql(ty, out),
                _ => {
                    out.extend_from_slice(s.as_bytes());
                    Ok(IsNull::No)
                }
            },
            Value::Blob(b) => {
                out.extend_from_slice(b);
                Ok(IsNull::No)
            }
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

impl<'a> FromSql<'a> for Value {
    fn from_sql(
        ty: &Type,
        raw: &'a [u8],
    ) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(match *ty {
            Type::INT8 => Value::Integer(i64::from_sql(ty, raw)?),
            Type::INT4 => Value::Integer(i32::from_sql(ty, raw)?.into()),
            Type::INT2 => Value::Integer(i16::from_sql(ty, raw)?.into()),
            Type::FLOAT8 => Value::Real(f64::from_sql(ty, raw)?),
            Type::FLOAT4 => Value::Real(f32::from_sql(ty, raw)?.into()),
            Type::BOOL => Value::Integer(bool::from_sql(ty, raw)?.into()),
            Type::BYTEA => Value::Blob(raw.to_vec()),
            Type::JSONB => Value::Text(String::from_utf8(raw.get(1..).unwrap_or(&[]).to_vec())?),
            Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::JSON | Type::UNKNOWN => {
                Value::Text(String::from_utf8(raw.to_vec())?)
            }
            ref other => return Err(format!("unsupported column type {other}").into()),
        })
    }

    fn from_sql_null(_: &Type) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Value::Null)
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    #[error("it holds tables of its own and is not a pitwall database")]
    NotPitwall,
    #[error("schema version {found}, newer than this pitwall's {known}")]
    TooNew { found: i64, known: i64 },
    #[error(transparent)]
    Postgres(#[from] postgres::Error),
}

const SCHEMA: &str = include_str!("../../schema_pg.sql");

pub fn prepare_schema(conn: &PgConn) -> Result<i64, SchemaError> {
    let known = super::SCHEMA_VERSION;
    conn.batch("BEGIN; SELECT pg_advisory_xact_lock(7151)")?;
    let result = (|| {
        let has: bool = !conn
            .query(
                "SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() \
                 AND table_name = 'pitwall_schema'",
                &[],
            )?
            .is_empty();
        if !has {
            let others = conn.query(
                "SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema()",
                &[],
            )?;
            if !others.is_empty() {
                return Err(SchemaError::NotPitwall);
            }
            conn.batch(SCHEMA)?;
            conn.execute(
                "INSERT INTO pitwall_schema (version) VALUES ($1)",
                &[Value::Integer(known)],
            )?;
            return Ok(known);
        }
        let found = match conn
            .query("SELECT version FROM pitwall_schema", &[])?
            .first()
            .and_then(|r| r.first())
        {
            Some(Value::Integer(v)) => *v,
            _ => return Err(SchemaError::NotPitwall),
        };
        if found > known {
            return Err(SchemaError::TooNew { found, known });
        }
        Ok(found)
    })();
    conn.batch(if result.is_ok() { "COMMIT" } else { "ROLLBACK" })?;
    result
}

pub struct Listener {
    version: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Listener {
    pub fn start(url: &str) -> Result<Listener, postgres::Error> {
        let mut client = Client::connect(url, NoTls)?;
        client.batch_execute(&format!("LISTEN {CHANNEL}"))?;
        let version = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (v, s, url) = (version.clone(), stop.clone(), url.to_string());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                let n = client
                    .notifications()
                    .timeout_iter(std::time::Duration::from_millis(200))
                    .count()
                    .unwrap_or(0);
                if n > 0 {
                    v.fetch_add(n as u64, Ordering::Relaxed);
                }
                if client.is_closed() {
                    std::thread::sleep(std::time::Duration::from_millis(500));
                    if let Ok(mut c) = Client::connect(&url, NoTls)
                        && c.batch_execute(&format!("LISTEN {CHANNEL}")).is_ok()
                    {
                        client = c;
                        v.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        });
        Ok(Listener {
            version,
            stop,
            thread: Some(thread),
        })
    }

    pub fn version(&self) -> u64 {
        self.version.load(Ordering::Relaxed)
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
