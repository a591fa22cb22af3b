//! The demo agencies whose systems are databases, joined by the adapter's SQL back end:
//! the population registry (Ministry of Justice), Azərsu's billing and the Ministry of
//! Labour's disability register. Each is a SQLite file written once from the synthetic
//! population and kept while its seed and size stay the same.

use std::path::{Path, PathBuf};

use sqlx::sqlite::{SqliteConnectOptions, SqlitePool};
use sqlx::{QueryBuilder, Sqlite};

use super::people::{FEMALE_NAMES, MALE_NAMES, Person, Population};

/// Rows per INSERT statement (7 columns × 500 stays far below SQLite's variable limit).
const BATCH: usize = 500;

/// An Azərsu subscriber: every household head (an adult with an even draw) has an account.
pub fn water_account(index: usize, p: &Person) -> Option<WaterAccount> {
    if p.age() < 18 || !p.trait_bits.is_multiple_of(2) {
        return None;
    }
    // a bijection of the index onto 8 digits: codes look random but never collide
    let code = format!("{:08}", (index as u64 * 7919 + 104_729) % 100_000_000);
    let cents = (p.trait_bits >> 8) % 12_000;
    let debt_cents = if (p.trait_bits >> 24) % 10 < 3 { 0 } else { cents };
    Some(WaterAccount {
        code,
        debt_cents: debt_cents as i64,
        last_payment: format!("2026-{:02}-{:02}", 1 + (p.trait_bits >> 30) % 10, 1 + (p.trait_bits >> 34) % 28),
        last_payment_cents: (800 + (p.trait_bits >> 40) % 4000) as i64,
    })
}

/// An Azərsu account.
#[derive(Debug, Clone)]
pub struct WaterAccount {
    /// Subscriber code.
    pub code: String,
    /// Debt in qəpik.
    pub debt_cents: i64,
    /// Date of the last payment.
    pub last_payment: String,
    /// Its amount in qəpik.
    pub last_payment_cents: i64,
}

/// A disability record: about one person in 25.
pub fn disability(p: &Person) -> Option<(&'static str, &'static str, String, Option<String>)> {
    if !(p.trait_bits >> 20).is_multiple_of(25) {
        return None;
    }
    let group = ["I", "II", "III"][((p.trait_bits >> 45) % 3) as usize];
    let cause = ["ümumi xəstəlik", "əmək xəsarəti", "uşaqlıqdan sağlamlıq imkanları məhdud", "müharibə əlilliyi"]
        [((p.trait_bits >> 47) % 4) as usize];
    let established_year = (p.birth_year + 18).max(2005) + ((p.trait_bits >> 50) % 10) as i32;
    let established = format!("{}-{:02}-15", established_year.min(2025), 1 + (p.trait_bits >> 54) % 12);
    let valid_until = (group != "I").then(|| format!("{}-12-31", established_year.min(2025) + 3));
    Some((group, cause, established, valid_until))
}

async fn open(path: &Path) -> anyhow::Result<SqlitePool> {
    let options = SqliteConnectOptions::new().filename(path).create_if_missing(true);
    Ok(SqlitePool::connect_with(options).await?)
}

/// Whether `path` already holds the data of `stamp` (seed and size).
async fn current(path: &Path, stamp: &str) -> bool {
    if !path.exists() {
        return false;
    }
    let Ok(pool) = open(path).await else { return false };
    let found: Option<String> = sqlx::query_scalar("SELECT value FROM generated WHERE key = 'stamp'")
        .fetch_optional(&pool)
        .await
        .ok()
        .flatten();
    pool.close().await;
    found.as_deref() == Some(stamp)
}

/// Writes a database anew: `schema`, then `fill`, then the stamp; a half-written file is
/// never left under the final name.
async fn write<F, Fut>(path: &Path, stamp: &str, schema: &str, fill: F) -> anyhow::Result<()>
where
    F: FnOnce(SqlitePool) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    if current(path, stamp).await {
        return Ok(());
    }
    let tmp = path.with_extension("db.tmp");
    let _ = std::fs::remove_file(&tmp);
    let pool = open(&tmp).await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "{schema}\nCREATE TABLE generated (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    )))
    .execute(&pool)
    .await?;
    fill(pool.clone()).await?;
    sqlx::query("INSERT INTO generated (key, value) VALUES ('stamp', ?)").bind(stamp).execute(&pool).await?;
    pool.close().await;
    std::fs::rename(&tmp, path)?;
    Ok(())
}

/// Inserts `rows` in batches inside one transaction.
async fn insert_all<T>(
    pool: &SqlitePool,
    head: &str,
    rows: impl Iterator<Item = T>,
    push: impl Fn(sqlx::query_builder::Separated<'_, Sqlite, &'static str>, T),
) -> anyhow::Result<()> {
    let mut tx = pool.begin().await?;
    let rows: Vec<T> = rows.collect();
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let batch: Vec<T> = rows.by_ref().take(BATCH).collect();
        let mut q: QueryBuilder<Sqlite> = QueryBuilder::new(head);
        q.push_values(batch, &push);
        q.build().execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The three database files.
#[derive(Debug, Clone)]
pub struct Databases {
    /// Population registry (Ministry of Justice).
    pub population: PathBuf,
    /// Azərsu billing.
    pub azersu: PathBuf,
    /// Disability register (Ministry of Labour and Social Protection).
    pub labour: PathBuf,
}

/// Writes (or keeps) the databases in `dir` for `population` generated from `seed`.
pub async fn prepare(dir: &Path, seed: u64, population: &Population) -> anyhow::Result<Databases> {
    std::fs::create_dir_all(dir)?;
    let stamp = format!("seed={seed:#x};people={}", population.people.len());
    let dbs = Databases {
        population: dir.join("population-registry.db"),
        azersu: dir.join("azersu-billing.db"),
        labour: dir.join("disability-register.db"),
    };
    write(
        &dbs.population,
        &stamp,
        "CREATE TABLE person (fin TEXT PRIMARY KEY, first_name TEXT NOT NULL, last_name TEXT NOT NULL, \
         patronymic TEXT NOT NULL, gender TEXT NOT NULL, birth_date TEXT NOT NULL, address TEXT NOT NULL);
         CREATE INDEX person_first_name ON person (first_name);
         CREATE TABLE given_name (name TEXT PRIMARY KEY, gender TEXT NOT NULL, origin TEXT NOT NULL, meaning TEXT NOT NULL);",
        |pool| async move {
            insert_all(
                &pool,
                "INSERT INTO person (fin, first_name, last_name, patronymic, gender, birth_date, address) ",
                population.people.iter(),
                |mut b, p| {
                    b.push_bind(p.fin.clone())
                        .push_bind(p.first_name)
                        .push_bind(p.last_name.clone())
                        .push_bind(p.patronymic.clone())
                        .push_bind(p.gender.to_string())
                        .push_bind(p.birth_date.clone())
                        .push_bind(p.address.clone());
                },
            )
            .await?;
            let names = MALE_NAMES.iter().map(|n| (n, "M")).chain(FEMALE_NAMES.iter().map(|n| (n, "F")));
            insert_all(&pool, "INSERT INTO given_name (name, gender, origin, meaning) ", names, |mut b, ((n, o, m), g)| {
                b.push_bind(*n).push_bind(g).push_bind(*o).push_bind(*m);
            })
            .await
        },
    )
    .await?;
    write(
        &dbs.azersu,
        &stamp,
        "CREATE TABLE subscriber (code TEXT PRIMARY KEY, holder TEXT NOT NULL, address TEXT NOT NULL, \
         debt_qepik INTEGER NOT NULL, last_payment_date TEXT, last_payment_qepik INTEGER);",
        |pool| async move {
            let accounts =
                population.people.iter().enumerate().filter_map(|(i, p)| water_account(i, p).map(|a| (a, p)));
            insert_all(
                &pool,
                "INSERT INTO subscriber (code, holder, address, debt_qepik, last_payment_date, last_payment_qepik) ",
                accounts,
                |mut b, (a, p)| {
                    b.push_bind(a.code)
                        .push_bind(format!("{} {}", p.last_name, p.first_name))
                        .push_bind(p.address.clone())
                        .push_bind(a.debt_cents)
                        .push_bind(a.last_payment)
                        .push_bind(a.last_payment_cents);
                },
            )
            .await
        },
    )
    .await?;
    write(
        &dbs.labour,
        &stamp,
        "CREATE TABLE disability (fin TEXT PRIMARY KEY, disability_group TEXT NOT NULL, cause TEXT NOT NULL, \
         established_on TEXT NOT NULL, valid_until TEXT);",
        |pool| async move {
            let records = population.people.iter().filter_map(|p| disability(p).map(|d| (p, d)));
            insert_all(
                &pool,
                "INSERT INTO disability (fin, disability_group, cause, established_on, valid_until) ",
                records,
                |mut b, (p, (group, cause, established, valid))| {
                    b.push_bind(p.fin.clone())
                        .push_bind(group)
                        .push_bind(cause)
                        .push_bind(established)
                        .push_bind(valid);
                },
            )
            .await
        },
    )
    .await?;
    Ok(dbs)
}
