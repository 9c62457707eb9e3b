//! One column value, whichever database holds it: what the storage layer binds as a parameter
//! and reads back from a row. SQLite's five storage classes, which PostgreSQL's columns of
//! pitwall's schema map onto (BIGINT → Integer, DOUBLE PRECISION → Real, TEXT → Text,
//! BYTEA → Blob).

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Integer(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}
