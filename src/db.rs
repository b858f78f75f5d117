//! Connecting to SQLite or PostgreSQL, running the migrations (a failure stops the start),
//! starting write transactions the same way on both, and reading once more when a pooled
//! connection was lost. The database travels in `AppState` as one [`Db`]: no global state.

use crate::config::AppConfig;
use crate::error::{AppError, AppResult};
use migration::{Migrator, MigratorTrait};
use sea_orm::{
    AccessMode, ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction,
    DbBackend, DbErr, ExecResult, IsolationLevel, QueryResult, SqliteTransactionMode, Statement,
    TransactionError, TransactionOptions, TransactionTrait,
};
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// Rows a SQLite connection's thread may read ahead of the one consuming them.
const ROW_BUFFER: usize = 4096;

/// Prepared statements kept per SQLite connection (sqlx's default is 100).
const STATEMENT_CACHE: usize = 400;

/// How long a SQLite connection waits for a lock another holds.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a checkpoint that bounds the write-ahead log waits for the readers still in it,
/// in tries of [`CHECKPOINT_TRY`] (see [`truncate_wal`]).
const CHECKPOINT_WAIT: Duration = Duration::from_millis(100);
const CHECKPOINT_TRY: Duration = Duration::from_millis(5);

/// How long after a checkpoint that readers kept from finishing the next one is tried; it
/// doubles with each such checkpoint in a row, up to [`CHECKPOINT_RETRY_MAX`].
const CHECKPOINT_RETRY: Duration = Duration::from_millis(100);
const CHECKPOINT_RETRY_MAX: Duration = Duration::from_secs(10);

/// Connects without migrating, runs `work` (a command that must see the database as it is, such
/// as a backup or a restore), and closes the database whatever its outcome.
pub async fn with_db<T>(
    config: &AppConfig,
    work: impl AsyncFnOnce(&Db) -> AppResult<T>,
) -> AppResult<T> {
    let db = connect(config).await?;
    let done = work(&db).await;
    db.close_at_exit(crate::CLOSE_WAIT).await;
    done
}

/// Opens the configured database. SQLite gets WAL, foreign keys and a busy timeout, and a
/// SQLite file its writer connection and thread.
pub async fn connect(config: &AppConfig) -> AppResult<Db> {
    let url = config.effective_database_url();
    if config.uses_embedded_sqlite() {
        owner_only_files(config)?;
    }
    let pool = open_pool(&url, config.db_max_connections, config.sqlite_mmap_mb).await?;
    Db::open_with(pool, config.sqlite_wal_max_mb).await
}

/// Creates the data dir owner-only (0700) and the SQLite file 0600 before SQLite opens it;
/// SQLite gives its `-wal` and `-shm` files the database file's mode. Files an older version
/// left readable by others are tightened.
fn owner_only_files(config: &AppConfig) -> AppResult<()> {
    let dir = &config.data_dir;
    let fail = |what: &std::path::Path, e: std::io::Error| {
        AppError::internal(format!("cannot prepare {}: {e}", what.display()))
    };
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(|e| fail(dir, e))?;
    let db = config.sqlite_path();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(&db).map_err(|e| fail(&db, e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for suffix in ["", "-wal", "-shm"] {
            let path = PathBuf::from(format!("{}{suffix}", db.display()));
            if let Ok(meta) = std::fs::metadata(&path)
                && meta.permissions().mode() & 0o077 != 0
            {
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                    .map_err(|e| fail(&path, e))?;
            }
        }
    }
    Ok(())
}

pub async fn connect_url(url: &str, max_connections: u32) -> AppResult<DatabaseConnection> {
    open_pool(url, max_connections, AppConfig::default().sqlite_mmap_mb).await
}

async fn open_pool(url: &str, max_connections: u32, mmap_mb: u64) -> AppResult<DatabaseConnection> {
    let mmap_bytes = mmap_mb.saturating_mul(1 << 20);
    let mut opts = ConnectOptions::new(url.to_string());
    opts.max_connections(max_connections)
        .min_connections(1)
        .acquire_timeout(Duration::from_secs(30))
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(move |o| {
            o.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(BUSY_TIMEOUT)
                .create_if_missing(true)
                // NOTE: in WAL mode a connection drops its whole page cache whenever another
                // connection has written, so on registration day every read starts cold. With
                // the file memory-mapped, those pages are read in place instead of copied in
                // by a system call into freshly allocated cache pages.
                .pragma("mmap_size", mmap_bytes.to_string())
                // Statements differing only in the length of an `IN (…)` list are distinct
                // texts; room for more of them saves parsing them again.
                .statement_cache_capacity(STATEMENT_CACHE)
                // NOTE: sqlx steps SQLite on a thread of its own and hands rows over a channel
                // of this many (50 by default): a bulk read (a mining run reads millions) then
                // waits on the other side every 50 rows, and switching threads cost more than
                // the rows. A small read never fills it.
                .row_buffer_size(ROW_BUFFER)
        });
    Database::connect(opts)
        .await
        .map_err(|e| AppError::internal(format!("cannot connect to the database: {e}")))
}

/// Applies every pending migration; the error names the migration that failed.
pub async fn migrate(db: &DatabaseConnection) -> AppResult<()> {
    Migrator::up(db, None).await.map_err(|e| {
        AppError::internal(format!(
            "a database migration failed, so the portal will not start: {e}"
        ))
    })
}

/// The portal's database: the connection pool and, on SQLite, the thread write transactions
/// run on and (for a file) its one writer connection. Made once by [`connect`] and kept in
/// `AppState`; clones share all of it. It dereferences to the pool, so a function that takes a
/// `&DatabaseConnection` takes it too (without the writer and the read retry).
#[derive(Clone)]
pub struct Db {
    pool: DatabaseConnection,
    writer: Option<Arc<Writer>>,
}

/// What SQLite writes go through.
struct Writer {
    /// The file's single writer connection (none for an in-memory database).
    conn: Option<DatabaseConnection>,
    /// The thread write transactions run on (none when it could not be started).
    thread: Option<tokio::runtime::Runtime>,
    /// The bound kept on the file's write-ahead log (none for an in-memory database or when
    /// switched off).
    wal: Option<WalBound>,
}

/// A bound on a SQLite file's write-ahead log.
///
/// SQLite checkpoints the log back into the file every 1,000 pages, but starts writing it
/// from the beginning again only at a moment when no reader is reading any part of it. Under a
/// steady stream of overlapping reads (registration day) that moment may never come: the log
/// then grows without end (438 MiB after one run of the 10,000-student bench), and every read
/// searches a longer index of it. Past the bound, the next writer first runs a `TRUNCATE`
/// checkpoint, which takes a few milliseconds when readers are short. If readers still hold
/// the log after [`CHECKPOINT_WAIT`] (readers that keep arriving can hold its oldest part
/// that long; so does a long read, a mining run say), writing goes on and the checkpoint is
/// tried again after [`CHECKPOINT_RETRY`], twice as long after each such one in a row, so a
/// long read does not stall every write. The bound is looked at by writes through the writer
/// connection ([`write_txn`] on a [`Db`]); writes through the bare pool (the imports, job
/// leases) grow the log without looking, and the next write through the writer truncates it.
struct WalBound {
    /// The `-wal` file.
    path: PathBuf,
    max_bytes: u64,
    /// No checkpoint before the first; the second is the wait after the next failed one.
    retry: std::sync::Mutex<(std::time::Instant, Duration)>,
}

impl WalBound {
    /// Runs the checkpoint if the log is past the bound and the last one is not too recent.
    async fn keep(&self, writer: &DatabaseConnection) {
        let Ok(bytes) = std::fs::metadata(&self.path).map(|m| m.len()) else {
            return;
        };
        if bytes <= self.max_bytes {
            return;
        }
        let now = std::time::Instant::now();
        match self.retry.lock() {
            // NOTE: claimed, so that a writer arriving meanwhile does not try it too.
            Ok(mut retry) if retry.0 <= now => retry.0 = now + CHECKPOINT_RETRY_MAX,
            _ => return,
        }
        // NOTE: on a task of its own, so that a caller dropped half-way (a cancelled request)
        // cannot leave the writer connection with the short busy timeout.
        let conn = writer.clone();
        let done = match tokio::spawn(async move { truncate_wal(&conn).await }).await {
            Ok(done) => done.map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        let Ok(mut retry) = self.retry.lock() else {
            return;
        };
        let wait = retry.1;
        match done {
            Ok(0) => {
                tracing::info!(bytes, "write-ahead log checkpointed and truncated");
                *retry = (now, CHECKPOINT_RETRY);
                return;
            }
            Ok(_) => tracing::warn!(
                bytes,
                retry_ms = wait.as_millis() as u64,
                "the write-ahead log is past its bound, and readers (or another connection's \
                 checkpoint or write) kept it from being truncated"
            ),
            Err(e) => tracing::warn!(bytes, error = %e, "checkpointing the write-ahead log failed"),
        }
        *retry = (
            std::time::Instant::now() + wait,
            (wait * 2).min(CHECKPOINT_RETRY_MAX),
        );
    }
}

/// `PRAGMA wal_checkpoint(TRUNCATE)` on the writer connection, tried for at most
/// [`CHECKPOINT_WAIT`]: 0 when done, 1 when readers were still in the log (or another
/// connection held the checkpoint or the write lock).
///
/// Tried again and again, each waiting [`CHECKPOINT_TRY`] for readers, rather than once with
/// the whole wait: a checkpoint reads the readers' marks in the log once, then waits for each
/// mark behind the log's end to be free. Readers arriving meanwhile join the mark that is at
/// the end, which may be one of those (a reader that found it free moved it there), and then
/// a mark with a reader at every moment is never free. The next try sees that mark at the end
/// and does not wait for it. The writer connection is held throughout, so nothing is written
/// through it between tries. A try refused at once (another connection checkpointing) is
/// followed by a pause, so that the tries do not spin.
async fn truncate_wal(writer: &DatabaseConnection) -> Result<i64, sea_orm::sqlx::Error> {
    use sea_orm::sqlx::{AssertSqlSafe, query, query_as};
    let mut conn = writer.get_sqlite_connection_pool().acquire().await?;
    // NOTE: built from a constant number, never from input.
    let wait = |d: Duration| AssertSqlSafe(format!("PRAGMA busy_timeout = {}", d.as_millis()));
    query(wait(CHECKPOINT_TRY)).execute(&mut *conn).await?;
    let started = std::time::Instant::now();
    let done = loop {
        let tried = std::time::Instant::now();
        let done = query_as::<_, (i64, i64, i64)>("PRAGMA wal_checkpoint(TRUNCATE)")
            .fetch_one(&mut *conn)
            .await;
        if !matches!(done, Ok((1, _, _))) || started.elapsed() >= CHECKPOINT_WAIT {
            break done;
        }
        tokio::time::sleep(CHECKPOINT_TRY.saturating_sub(tried.elapsed())).await;
    };
    if let Err(e) = query(wait(BUSY_TIMEOUT)).execute(&mut *conn).await {
        // NOTE: never leave the writer with the short wait: a fresh connection gets the
        // configured one.
        conn.close().await.ok();
        return Err(e);
    }
    Ok(done?.0)
}

impl Drop for Writer {
    fn drop(&mut self) {
        // NOTE: dropping a runtime waits for its tasks, which must not happen on an async
        // thread (it panics there); a transaction still on it is rolled back by SQLite.
        if let Some(rt) = self.thread.take() {
            rt.shutdown_background();
        }
    }
}

impl std::ops::Deref for Db {
    type Target = DatabaseConnection;
    fn deref(&self) -> &DatabaseConnection {
        &self.pool
    }
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("backend", &self.pool.get_database_backend())
            .field("writer", &self.writer.as_ref().map(|w| w.conn.is_some()))
            .finish()
    }
}

impl Db {
    /// Wraps a pool; on SQLite starts the writer thread and, for a file, opens its writer
    /// connection and bounds its write-ahead log at the default size.
    pub async fn open(pool: DatabaseConnection) -> AppResult<Db> {
        Db::open_with(pool, AppConfig::default().sqlite_wal_max_mb).await
    }

    /// [`Db::open`] with the write-ahead log bounded at `wal_max_mb` MiB (0: not bounded).
    pub async fn open_with(pool: DatabaseConnection, wal_max_mb: u64) -> AppResult<Db> {
        if pool.get_database_backend() != DbBackend::Sqlite {
            return Ok(Db { pool, writer: None });
        }
        let writer = sqlite_writer(&pool).await?;
        let wal = writer
            .as_ref()
            .filter(|_| wal_max_mb > 0)
            .map(|(_, file)| WalBound {
                path: PathBuf::from(format!("{}-wal", file.display())),
                max_bytes: wal_max_mb.saturating_mul(1 << 20),
                retry: std::sync::Mutex::new((std::time::Instant::now(), CHECKPOINT_RETRY)),
            });
        let conn = writer.map(|(conn, _)| conn);
        let thread = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("srm-writer")
            .enable_all()
            .build()
            .map_err(|e| tracing::warn!(error = %e, "no writer thread; writing in place"))
            .ok();
        Ok(Db {
            pool,
            writer: Some(Arc::new(Writer { conn, thread, wal })),
        })
    }

    /// Calls `callback` after every statement run through this database: its pool and, on a
    /// SQLite file, its writer connection (transactions inherit it; BEGIN and COMMIT are not
    /// reported). For counting round trips in tests and diagnostics; set it before the
    /// database is cloned (an error otherwise, since clones would not see it).
    pub fn set_metric_callback<F>(&mut self, callback: F) -> AppResult<()>
    where
        F: Fn(&sea_orm::metric::Info<'_>) + Send + Sync + 'static,
    {
        let callback = Arc::new(callback);
        if let Some(writer) = self.writer.as_mut() {
            let writer = Arc::get_mut(writer)
                .ok_or_else(|| AppError::internal("the database is shared already"))?;
            if let Some(conn) = writer.conn.as_mut() {
                let c = callback.clone();
                conn.set_metric_callback(move |info| c(info));
            }
        }
        self.pool.set_metric_callback(move |info| callback(info));
        Ok(())
    }

    /// The pool itself.
    pub fn pool(&self) -> &DatabaseConnection {
        &self.pool
    }

    /// Closes the pool and the writer connection.
    pub async fn close(self) -> AppResult<()> {
        if let Some(conn) = self.writer.as_ref().and_then(|w| w.conn.clone()) {
            conn.close().await?;
        }
        Ok(self.pool.close().await?)
    }

    /// Closes the database before the process ends, waiting at most `wait` for connections
    /// still out; a failure is logged, not returned, since the work is done by then.
    ///
    /// On a SQLite file the last connection to close copies the write-ahead log back into the
    /// file and removes it: a command that exits without closing leaves the log behind (460 MB
    /// after seeding 10,000 students), to be copied back by the next start.
    pub async fn close_at_exit(&self, wait: Duration) {
        match tokio::time::timeout(wait, self.clone().close()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "closing the database failed"),
            Err(_) => tracing::warn!(
                wait_s = wait.as_secs(),
                "closing the database did not finish in time (connections still out, or a long \
                 last checkpoint); a SQLite write-ahead log left behind is copied back on the \
                 next start"
            ),
        }
    }

    /// Runs a write transaction's whole future on the writer thread on SQLite, and in place
    /// otherwise.
    ///
    /// A SQLite write transaction holds the file's one write lock from BEGIN to COMMIT, and
    /// each of its statements is an await. On the request threads, every await waits behind
    /// every other runnable request (on registration day, hundreds), so the lock was held for
    /// that long and the writers queued behind it: a convoy. On its own thread the transaction
    /// runs its statements back to back, while the operating system still shares the cores
    /// fairly. PostgreSQL writes run concurrently under row locks and need none of this.
    pub async fn on_writer_thread<F, T>(&self, work: F) -> AppResult<T>
    where
        F: Future<Output = AppResult<T>> + Send + 'static,
        T: Send + 'static,
    {
        match self.writer.as_ref().and_then(|w| w.thread.as_ref()) {
            Some(rt) => rt
                .spawn(work)
                .await
                .map_err(|e| AppError::internal(format!("the write did not finish: {e}")))?,
            None => work.await,
        }
    }
}

/// `db.on_writer_thread(work)`.
pub async fn on_writer_thread<F, T>(db: &Db, work: F) -> AppResult<T>
where
    F: Future<Output = AppResult<T>> + Send + 'static,
    T: Send + 'static,
{
    db.on_writer_thread(work).await
}

/// Whether a statement only reads, so running it twice is harmless.
fn is_read(stmt: &Statement) -> bool {
    let sql = stmt.sql.trim_start();
    sql.get(..6)
        .is_some_and(|head| head.eq_ignore_ascii_case("select"))
        && !sql.to_ascii_lowercase().contains(" for update")
}

// NOTE: every statement run on the pool outside a transaction comes through here. A read
// whose pooled connection was lost (PostgreSQL restarted or terminated the backend, the socket
// was reset) runs once more on a fresh connection; a write does not, since it may have been
// applied before the connection went. Starting a transaction is retried too: nothing has
// happened yet when BEGIN fails.
#[rocket::async_trait]
impl ConnectionTrait for Db {
    fn get_database_backend(&self) -> DbBackend {
        self.pool.get_database_backend()
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        self.pool.execute_raw(stmt).await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        self.pool.execute_unprepared(sql).await
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        if is_read(&stmt) {
            retry_once(|| self.pool.query_one_raw(stmt.clone())).await
        } else {
            self.pool.query_one_raw(stmt).await
        }
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        if is_read(&stmt) {
            retry_once(|| self.pool.query_all_raw(stmt.clone())).await
        } else {
            self.pool.query_all_raw(stmt).await
        }
    }

    fn support_returning(&self) -> bool {
        self.pool.support_returning()
    }

    fn is_mock_connection(&self) -> bool {
        self.pool.is_mock_connection()
    }
}

#[rocket::async_trait]
impl TransactionTrait for Db {
    type Transaction = DatabaseTransaction;

    async fn begin(&self) -> Result<DatabaseTransaction, DbErr> {
        retry_once(|| self.pool.begin()).await
    }

    async fn begin_with_config(
        &self,
        isolation_level: Option<IsolationLevel>,
        access_mode: Option<AccessMode>,
    ) -> Result<DatabaseTransaction, DbErr> {
        retry_once(|| self.pool.begin_with_config(isolation_level, access_mode)).await
    }

    async fn begin_with_options(
        &self,
        options: TransactionOptions,
    ) -> Result<DatabaseTransaction, DbErr> {
        retry_once(|| self.pool.begin_with_options(options)).await
    }

    async fn transaction<F, T, E>(&self, callback: F) -> Result<T, TransactionError<E>>
    where
        F: for<'c> FnOnce(
                &'c DatabaseTransaction,
            ) -> Pin<Box<dyn Future<Output = Result<T, E>> + Send + 'c>>
            + Send,
        T: Send,
        E: std::fmt::Display + std::fmt::Debug + Send,
    {
        self.pool.transaction(callback).await
    }

    async fn transaction_with_config<F, T, E>(
        &self,
        callback: F,
        isolation_level: Option<IsolationLevel>,
        access_mode: Option<AccessMode>,
    ) -> Result<T, TransactionError<E>>
    where
        F: for<'c> FnOnce(
                &'c DatabaseTransaction,
            ) -> Pin<Box<dyn Future<Output = Result<T, E>> + Send + 'c>>
            + Send,
        T: Send,
        E: std::fmt::Display + std::fmt::Debug + Send,
    {
        self.pool
            .transaction_with_config(callback, isolation_level, access_mode)
            .await
    }
}

/// Begins a transaction that will write: IMMEDIATE on SQLite (so two writers never both read
/// a stale value and then collide), an ordinary transaction on PostgreSQL (rows are locked
/// with `SELECT … FOR UPDATE` or conditional updates where it matters).
///
/// Through a [`Db`] on a SQLite file the transaction runs on the file's one writer connection:
/// SQLite lets one writer in at a time anyway, and writers that queue for that connection wait
/// their turn in order, instead of each holding a pooled connection while SQLite's busy handler
/// sleeps and retries (which starved the readers and left the lock idle between retries). The
/// IMMEDIATE lock still guards every write, also against other processes.
pub async fn write_txn<C: Writable>(db: &C) -> AppResult<DatabaseTransaction> {
    db.begin_write().await
}

/// A connection a write transaction can start on: the database, its bare pool, or a
/// transaction already under way (the new one is then a savepoint inside it).
pub trait Writable: sea_orm::ConnectionTrait + Sync {
    fn begin_write(&self) -> impl Future<Output = AppResult<DatabaseTransaction>> + Send;
}

fn immediate() -> TransactionOptions {
    TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    }
}

impl Writable for Db {
    async fn begin_write(&self) -> AppResult<DatabaseTransaction> {
        let Some(writer) = self.writer.as_ref() else {
            return self.pool.begin_write().await;
        };
        match writer.conn.as_ref() {
            Some(conn) => {
                if let Some(wal) = writer.wal.as_ref() {
                    wal.keep(conn).await;
                }
                Ok(conn.begin_with_options(immediate()).await?)
            }
            None => self.pool.begin_write().await,
        }
    }
}

impl Writable for DatabaseConnection {
    async fn begin_write(&self) -> AppResult<DatabaseTransaction> {
        match self.get_database_backend() {
            DbBackend::Sqlite => Ok(self.begin_with_options(immediate()).await?),
            _ => Ok(retry_once(|| self.begin()).await?),
        }
    }
}

impl Writable for DatabaseTransaction {
    async fn begin_write(&self) -> AppResult<DatabaseTransaction> {
        Ok(self.begin().await?)
    }
}

/// The single writer connection of the SQLite file behind `pool`, and the file (none for an
/// in-memory database).
async fn sqlite_writer(
    pool: &DatabaseConnection,
) -> AppResult<Option<(DatabaseConnection, PathBuf)>> {
    let options = pool.get_sqlite_connection_pool().connect_options();
    let file = options.get_filename().to_path_buf();
    if file.as_os_str().is_empty() || file.to_string_lossy().contains(":memory:") {
        return Ok(None);
    }
    let writer = sea_orm::sqlx::pool::PoolOptions::<sea_orm::sqlx::Sqlite>::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(60))
        .connect_with((*options).clone())
        .await
        .map_err(|e| AppError::internal(format!("cannot open the SQLite writer: {e}")))?;
    let writer = sea_orm::SqlxSqliteConnector::from_sqlx_sqlite_pool(writer);
    Ok(Some((writer, file)))
}

pub fn is_unique_violation(err: &sea_orm::DbErr) -> bool {
    matches!(
        err.sql_err(),
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
    )
}

/// Attempts of a transaction that PostgreSQL ended as one side of a deadlock.
const DEADLOCK_ATTEMPTS: usize = 4;

/// Runs `work` (one whole transaction) again when PostgreSQL ended it as one side of a
/// deadlock. The aborted transaction changed nothing, and the other side went on, so running it
/// again is safe; two registrations waiting on each other's rows can then both finish.
pub async fn retrying_deadlocks<F, Fut, T>(mut work: F) -> AppResult<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = AppResult<T>>,
{
    let mut attempt = 1;
    loop {
        match work().await {
            Err(AppError::Db(e)) if is_deadlock(&e) && attempt < DEADLOCK_ATTEMPTS => {
                tracing::info!(
                    attempt,
                    "a deadlock ended the transaction; running it again"
                );
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// PostgreSQL's `deadlock_detected` (40P01).
fn is_deadlock(err: &sea_orm::DbErr) -> bool {
    use sea_orm::RuntimeErr;
    match err {
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => e
            .as_database_error()
            .and_then(|d| d.code())
            .is_some_and(|code| code == "40P01"),
        _ => false,
    }
}

pub use crate::error::is_transient;

/// Runs a read once more when it failed because its pooled connection was lost (PostgreSQL
/// restarted or terminated the backend): the pool then hands out a fresh connection. Only for
/// reads and other statements that are safe to repeat.
pub async fn retry_once<F, Fut, T>(mut work: F) -> Result<T, sea_orm::DbErr>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, sea_orm::DbErr>>,
{
    match work().await {
        Err(e) if is_transient(&e) => {
            tracing::info!(error = %e, "a database connection was lost; trying once more");
            work().await
        }
        other => other,
    }
}
