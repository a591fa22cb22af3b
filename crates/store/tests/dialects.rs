//! Every component keeps its schema twice, once per dialect (`migrations/sqlite`,
//! `migrations/postgres`), so that the embedded database and PostgreSQL run the same code.
//! This test applies both sets of every component to a fresh database of each kind and fails
//! when a migration, a table or a column exists in one dialect and not the other (issue 14).

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use sqlx::{Connection, Row};

/// Table → its columns.
type Schema = BTreeMap<String, BTreeSet<String>>;

/// The components with migrations: `(crate directory, sqlite files, postgres files)`.
fn components() -> Vec<(PathBuf, Vec<PathBuf>, Vec<PathBuf>)> {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let mut out = Vec::new();
    for entry in std::fs::read_dir(crates).unwrap() {
        let dir = entry.unwrap().path();
        let files = |dialect: &str| -> Option<Vec<PathBuf>> {
            let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("migrations").join(dialect))
                .ok()?
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|e| e == "sql"))
                .collect();
            files.sort();
            Some(files)
        };
        match (files("sqlite"), files("postgres")) {
            (None, None) => {}
            (Some(s), Some(p)) => out.push((dir, s, p)),
            _ => panic!("{}: migrations for one dialect only", dir.display()),
        }
    }
    out.sort();
    assert!(out.len() >= 6, "found only {} components with migrations", out.len());
    out
}

fn names(files: &[PathBuf]) -> Vec<String> {
    files.iter().map(|f| f.file_name().unwrap().to_string_lossy().into_owned()).collect()
}

async fn sqlite_schema(files: &[PathBuf]) -> Schema {
    let mut db = sqlx::SqliteConnection::connect("sqlite::memory:").await.unwrap();
    for f in files {
        let sql = std::fs::read_to_string(f).unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(&mut db)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
    }
    let tables: Vec<String> =
        sqlx::query("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
            .fetch_all(&mut db)
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
    let mut schema = Schema::new();
    for t in tables {
        let columns = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT name FROM pragma_table_info('{t}')")))
            .fetch_all(&mut db)
            .await
            .unwrap()
            .iter()
            .map(|r| r.get::<String, _>(0).to_ascii_lowercase())
            .collect();
        schema.insert(t.to_ascii_lowercase(), columns);
    }
    schema
}

async fn postgres_schema(url: &str, files: &[PathBuf]) -> Schema {
    let mut db = sqlx::PgConnection::connect(url).await.unwrap();
    for f in files {
        let sql = std::fs::read_to_string(f).unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(&mut db)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
    }
    let rows = sqlx::query(
        "SELECT c.table_name::text, c.column_name::text FROM information_schema.columns c \
         JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name \
         WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE'",
    )
    .fetch_all(&mut db)
    .await
    .unwrap();
    let mut schema = Schema::new();
    for r in rows {
        let (table, column): (String, String) = (r.get(0), r.get(1));
        schema.entry(table.to_ascii_lowercase()).or_default().insert(column.to_ascii_lowercase());
    }
    db.close().await.unwrap();
    schema
}

/// What differs between two schemas, one line each.
fn differences(sqlite: &Schema, postgres: &Schema) -> Vec<String> {
    let mut out = Vec::new();
    for t in sqlite.keys().chain(postgres.keys()).collect::<BTreeSet<_>>() {
        match (sqlite.get(t), postgres.get(t)) {
            (Some(_), None) => out.push(format!("table {t} only in sqlite")),
            (None, Some(_)) => out.push(format!("table {t} only in postgres")),
            (Some(a), Some(b)) => {
                for c in a.difference(b) {
                    out.push(format!("column {t}.{c} only in sqlite"));
                }
                for c in b.difference(a) {
                    out.push(format!("column {t}.{c} only in postgres"));
                }
            }
            (None, None) => {}
        }
    }
    out
}

#[test]
fn the_comparison_names_what_differs() {
    let schema = |spec: &[(&str, &[&str])]| -> Schema {
        spec.iter().map(|(t, cs)| (t.to_string(), cs.iter().map(|c| c.to_string()).collect())).collect()
    };
    let a = schema(&[("incidents", &["id", "peer_server"]), ("holidays", &["date"])]);
    let b = schema(&[("incidents", &["id", "reason"]), ("notices", &["id"])]);
    assert_eq!(
        differences(&a, &b),
        [
            "table holidays only in sqlite",
            "column incidents.peer_server only in sqlite",
            "column incidents.reason only in postgres",
            "table notices only in postgres",
        ]
    );
    assert!(differences(&a, &a).is_empty());
}

#[tokio::test]
async fn both_dialects_have_the_same_migrations_tables_and_columns() {
    let mut problems = Vec::new();
    let mut postgres_checked = 0;
    for (dir, sqlite, postgres) in components() {
        let component = dir.file_name().unwrap().to_string_lossy().into_owned();
        if names(&sqlite) != names(&postgres) {
            problems.push(format!(
                "{component}: migrations {:?} (sqlite) vs {:?} (postgres)",
                names(&sqlite),
                names(&postgres)
            ));
            continue;
        }
        let lite = sqlite_schema(&sqlite).await;
        assert!(!lite.is_empty(), "{component}: no tables");
        let Some(url) = egov_store::test_postgres_url(&format!("dialects_{component}")).await else { continue };
        let pg = postgres_schema(&url, &postgres).await;
        egov_store::drop_test_database(&url).await;
        problems.extend(differences(&lite, &pg).into_iter().map(|d| format!("{component}: {d}")));
        postgres_checked += 1;
    }
    assert!(problems.is_empty(), "the dialects differ:\n{}", problems.join("\n"));
    if std::env::var("EGOV_TEST_POSTGRES_URL").is_ok() {
        assert!(postgres_checked >= 6, "only {postgres_checked} components compared");
    }
}
