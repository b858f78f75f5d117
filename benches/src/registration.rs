//! `srm-bench registration`: registration day against a live server. Students log in first
//! (argon2 is slow on purpose, so logins stay out of the timed phase); then all of them at once
//! browse the catalogue, add sections (most adds aimed at a few popular ones) and drop some.
//! It prints throughput, latency percentiles and the count of every answer, then checks the
//! seat and waitlist invariants in the database the server uses.

use crate::invariants::{self, ENROLLED, WAITLISTED};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use reqwest::{Client, RequestBuilder, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};
use srm::config::AppConfig;
use srm::error::{AppError, AppResult};
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::{Barrier, Semaphore};
use tokio::task::JoinSet;

/// Share of a simulated student's steps that browse the catalogue; adds come next, the rest
/// are drops (a student with nothing to drop adds instead).
const BROWSE_SHARE: f64 = 0.45;
const ADD_SHARE: f64 = 0.40;
/// How often a browse searches with `q`.
const SEARCH_SHARE: f64 = 0.3;
/// At most this many unexpected answers (5xx, transport errors) are printed in full.
const SHOW_ERRORS: u64 = 5;
const PROGRESS_EVERY: Duration = Duration::from_secs(5);

/// Answers every report lists, even when they did not occur.
const LISTED_ANSWERS: [&str; 9] = [
    "enrolled",
    "waitlisted",
    "section_full",
    "waitlist_full",
    "time_conflict",
    "already_registered",
    "credit_limit",
    "5xx",
    "transport_error",
];

#[derive(clap::Args, Debug, Clone)]
pub struct Options {
    /// Base URL of a running server; repeat to spread the students over several instances.
    #[arg(long = "url", default_value = "http://127.0.0.1:8000")]
    pub urls: Vec<String>,
    /// Students to log in.
    #[arg(long, default_value_t = 2000)]
    pub students: usize,
    /// Simulated students active at once; each is a task looping browse/add/drop (tasks share
    /// the logged-in students round-robin when there are more tasks than students).
    #[arg(long, default_value_t = 2000)]
    pub concurrency: usize,
    /// Length of the timed phase, in seconds.
    #[arg(long, default_value_t = 30)]
    pub duration_secs: u64,
    /// Stop after this many requests instead of after `--duration-secs`.
    #[arg(long)]
    pub requests: Option<u64>,
    /// Number of popular sections.
    #[arg(long, default_value_t = 5)]
    pub hot_sections: usize,
    /// Share of adds aimed at the popular sections (0 to 1).
    #[arg(long, default_value_t = 0.8)]
    pub hot_share: f64,
    /// Mean think time between one student's requests in milliseconds (uniform, 0 to twice it).
    #[arg(long, default_value_t = 100)]
    pub think_ms: u64,
    /// Offer this many requests a second in all, however fast the answers come (an open loop:
    /// each request starts on its schedule, the students taking turns, and its latency counts
    /// from that time, so a slow server cannot lower the load it is measured at); without it,
    /// each student waits its think time after each answer.
    #[arg(long)]
    pub rate: Option<f64>,
    /// The administrator account that lists the students.
    #[arg(long, default_value = "admin")]
    pub admin: String,
    /// Password of the administrator and of every student (the demo password); default:
    /// SRM_DEMO_PASSWORD, else the file demo_password in SRM_DATA_DIR.
    #[arg(long)]
    pub password: Option<String>,
    /// Logins running at once.
    #[arg(long, default_value_t = 64)]
    pub login_concurrency: usize,
    /// Random seed of the simulated students.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Skip the database checks (when this machine cannot reach the server's database).
    #[arg(long)]
    pub no_check: bool,
}

/// Runs the benchmark and prints its report; an error when any answer was a 5xx or an
/// invariant does not hold.
pub async fn run(config: &AppConfig, opts: Options) -> AppResult<()> {
    let urls: Vec<String> = opts
        .urls
        .iter()
        .map(|u| u.trim_end_matches('/').to_string())
        .collect();
    if urls.is_empty() || opts.students == 0 || opts.concurrency == 0 {
        return Err(AppError::internal(
            "--url, --students and --concurrency must not be empty or zero",
        ));
    }
    let password = password(config, &opts)?;
    let client = Client::builder()
        .pool_max_idle_per_host(opts.concurrency + opts.login_concurrency)
        .tcp_nodelay(true)
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(60))
        .build()
        .map_err(|e| AppError::internal(format!("cannot build the HTTP client: {e}")))?;

    let admin_token = login(&client, &urls[0], &opts.admin, &password)
        .await
        .map_err(|answer| AppError::internal(format!("admin login failed: {answer}")))?;
    let names = student_names(&client, &urls[0], &admin_token, opts.students).await?;
    let catalogue = current_sections(&client, &urls[0], &admin_token).await?;
    if catalogue.is_empty() {
        return Err(AppError::internal("the current term has no sections"));
    }
    let students = login_all(&client, &urls, names, &password, opts.login_concurrency).await?;

    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    let mut shuffled = catalogue.clone();
    shuffled.shuffle(&mut rng);
    let hot: Vec<SectionItem> = shuffled.into_iter().take(opts.hot_sections).collect();
    println!("popular sections (capacity / enrolled / waitlist of waitlist capacity, before):");
    for s in &hot {
        println!(
            "  {:>6}  {:<12} {:>4} / {:>4} / {:>3} of {:>3}",
            s.id,
            s.course_code,
            s.capacity,
            s.enrolled_count,
            s.waitlist_count,
            s.waitlist_capacity
        );
    }
    let plan = Arc::new(Plan {
        urls,
        sections: catalogue.iter().map(|s| s.id).collect(),
        hot: hot.iter().map(|s| s.id).collect(),
        hot_share: opts.hot_share.clamp(0.0, 1.0),
        words: search_words(&catalogue),
        think_ms: opts.think_ms,
        requests: opts.requests,
    });

    let tally = timed_phase(&client, plan, &students, &opts).await?;

    let mut failed_checks = 0;
    if opts.no_check {
        println!("database checks skipped (--no-check)");
    } else {
        let db = srm::db::connect(config).await?;
        println!("invariants (database):");
        for check in invariants::check(&db).await? {
            check.print();
            failed_checks += usize::from(!check.failures.is_empty());
        }
        invariants::print_hot_after(&db, hot.iter().map(|s| s.id).collect()).await?;
    }
    let verdict = verdict(
        tally.answers.iter().map(|((_, a), n)| (a.as_str(), *n)),
        failed_checks,
    );
    if !verdict.passed() {
        println!("result: FAIL");
        return Err(AppError::internal(verdict.to_string()));
    }
    println!("result: PASS");
    Ok(())
}

/// The answer name of a server error.
const SERVER_ERROR: &str = "5xx";
/// The answer name of a request that got no HTTP answer at all.
const TRANSPORT_ERROR: &str = "transport_error";
/// The prefix of an answer that is neither a success, a refusal nor a server error.
const UNEXPECTED: &str = "unexpected_http_";

/// What decides PASS or FAIL: every request must get an answer, and every answer must be a
/// success or a refusal (4xx); every invariant must hold.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Verdict {
    pub server_errors: u64,
    pub transport_errors: u64,
    pub unexpected: u64,
    pub failed_checks: usize,
}

impl Verdict {
    pub fn passed(&self) -> bool {
        *self == Verdict::default()
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} server errors (5xx), {} transport errors, {} other unexpected answers and {} failed invariants",
            self.server_errors, self.transport_errors, self.unexpected, self.failed_checks
        )
    }
}

/// Counts the failures among the answers (name, count) of a run.
fn verdict<'a>(answers: impl Iterator<Item = (&'a str, u64)>, failed_checks: usize) -> Verdict {
    let mut v = Verdict {
        failed_checks,
        ..Verdict::default()
    };
    for (answer, n) in answers {
        if answer == SERVER_ERROR {
            v.server_errors += n;
        } else if answer == TRANSPORT_ERROR {
            v.transport_errors += n;
        } else if answer.starts_with(UNEXPECTED) {
            v.unexpected += n;
        }
    }
    v
}

fn password(config: &AppConfig, opts: &Options) -> AppResult<String> {
    if let Some(p) = opts.password.as_ref().or(config.demo_password.as_ref()) {
        return Ok(p.clone());
    }
    let path = config.data_path("demo_password");
    std::fs::read_to_string(&path)
        .map(|p| p.trim().to_string())
        .map_err(|e| {
            AppError::internal(format!(
                "no --password, no SRM_DEMO_PASSWORD and cannot read {}: {e}",
                path.display()
            ))
        })
}

// ---------------------------------------------------------------- HTTP

#[derive(Deserialize)]
struct PageOf<T> {
    items: Vec<T>,
    total: u64,
}

#[derive(Deserialize)]
struct UserItem {
    username: String,
    is_active: bool,
}

#[derive(Deserialize, Clone)]
struct SectionItem {
    id: i64,
    course_code: String,
    capacity: i64,
    enrolled_count: i64,
    waitlist_count: i64,
    waitlist_capacity: i64,
}

#[derive(Deserialize)]
struct MyRegistration {
    id: i64,
    status: String,
}

struct Student {
    username: String,
    token: String,
}

/// Sends a request and reads the whole answer: the status and the JSON body (`null` when the
/// body is not JSON), or the transport error.
async fn exchange(req: RequestBuilder) -> Result<(StatusCode, Value), String> {
    let resp = req.send().await.map_err(|e| error_chain(&e))?;
    let status = resp.status();
    let body = resp.bytes().await.map_err(|e| error_chain(&e))?;
    Ok((status, serde_json::from_slice(&body).unwrap_or(Value::Null)))
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// The answer's name: the `status` of a success (`enrolled`, `waitlisted`, `dropped`; `ok`
/// when there is none), the error `code` of a refusal, `5xx` for a server error and
/// `unexpected_http_<code>` for any other answer (a redirect or 1xx is not an API answer).
fn answer_name(status: StatusCode, body: &Value) -> String {
    if status.is_server_error() {
        return SERVER_ERROR.to_string();
    }
    if !status.is_success() && !status.is_client_error() {
        return format!("{UNEXPECTED}{}", status.as_u16());
    }
    if status.is_success() {
        return body
            .get("status")
            .and_then(Value::as_str)
            .unwrap_or("ok")
            .to_string();
    }
    body.pointer("/error/code")
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| format!("http_{}", status.as_u16()))
}

async fn get_json(client: &Client, url: &str, token: &str) -> AppResult<Value> {
    match exchange(client.get(url).bearer_auth(token)).await {
        Ok((status, body)) if status.is_success() => Ok(body),
        Ok((status, body)) => Err(AppError::internal(format!("GET {url}: {status} {body}"))),
        Err(e) => Err(AppError::internal(format!("GET {url}: {e}"))),
    }
}

/// Logs in; the token, or the answer's name when refused.
async fn login(
    client: &Client,
    base: &str,
    username: &str,
    password: &str,
) -> Result<String, String> {
    let req = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"username": username, "password": password}));
    match exchange(req).await {
        Ok((status, body)) if status.is_success() => body
            .get("token")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| "no_token".to_string()),
        Ok((status, body)) => Err(answer_name(status, &body)),
        Err(_) => Err("transport_error".to_string()),
    }
}

/// Up to `wanted` active student accounts, as the administrator lists them.
async fn student_names(
    client: &Client,
    base: &str,
    token: &str,
    wanted: usize,
) -> AppResult<Vec<String>> {
    let mut names = Vec::new();
    for page in 1.. {
        let url = format!("{base}/api/v1/users?kind=student&per_page=500&page={page}");
        let list: PageOf<UserItem> =
            serde_json::from_value(get_json(client, &url, token).await?)
                .map_err(|e| AppError::internal(format!("GET {url}: unexpected answer: {e}")))?;
        let last = list.items.is_empty() || page * 500 >= list.total;
        names.extend(
            list.items
                .into_iter()
                .filter(|u| u.is_active)
                .map(|u| u.username),
        );
        if last || names.len() >= wanted {
            break;
        }
    }
    names.truncate(wanted);
    if names.len() < wanted {
        println!(
            "only {} student accounts exist; using them all",
            names.len()
        );
    }
    if names.is_empty() {
        return Err(AppError::internal("the server lists no student accounts"));
    }
    Ok(names)
}

/// Every section of the current term.
async fn current_sections(client: &Client, base: &str, token: &str) -> AppResult<Vec<SectionItem>> {
    let mut all = Vec::new();
    for page in 1.. {
        let url = format!("{base}/api/v1/sections?term=current&per_page=500&page={page}");
        let list: PageOf<SectionItem> =
            serde_json::from_value(get_json(client, &url, token).await?)
                .map_err(|e| AppError::internal(format!("GET {url}: unexpected answer: {e}")))?;
        let last = list.items.is_empty() || page * 500 >= list.total;
        all.extend(list.items);
        if last {
            break;
        }
    }
    Ok(all)
}

/// Logs every student in, `at_once` at a time, spreading them over the servers.
async fn login_all(
    client: &Client,
    urls: &[String],
    names: Vec<String>,
    password: &str,
    at_once: usize,
) -> AppResult<Vec<Student>> {
    let started = Instant::now();
    let total = names.len();
    let permits = Arc::new(Semaphore::new(at_once.max(1)));
    let mut set = JoinSet::new();
    for (i, username) in names.into_iter().enumerate() {
        let (client, permits, password) = (client.clone(), permits.clone(), password.to_string());
        let base = urls[i % urls.len()].clone();
        set.spawn(async move {
            let _permit = permits.acquire_owned().await;
            let token = login(&client, &base, &username, &password).await;
            (username, token)
        });
    }
    let mut students = Vec::with_capacity(total);
    let mut refused: BTreeMap<String, u64> = BTreeMap::new();
    let mut done = 0;
    while let Some(joined) = set.join_next().await {
        let (username, token) =
            joined.map_err(|e| AppError::internal(format!("a login task failed: {e}")))?;
        match token {
            Ok(token) => students.push(Student { username, token }),
            Err(answer) => *refused.entry(answer).or_default() += 1,
        }
        done += 1;
        if done % 500 == 0 && done < total {
            println!(
                "  logged in {done}/{total} ({:.1} s)",
                started.elapsed().as_secs_f64()
            );
        }
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "logins: {} of {total} in {secs:.1} s ({:.1}/s, {at_once} at a time); refused: {refused:?}",
        students.len(),
        total as f64 / secs.max(1e-9),
    );
    if students.is_empty() {
        return Err(AppError::internal("no student could log in"));
    }
    students.sort_by(|a, b| a.username.cmp(&b.username));
    Ok(students)
}

/// Search terms a student might type: course codes and their letter prefixes.
fn search_words(catalogue: &[SectionItem]) -> Vec<String> {
    let mut words: Vec<String> = catalogue
        .iter()
        .flat_map(|s| {
            let prefix: String = s
                .course_code
                .chars()
                .take_while(|c| c.is_alphabetic())
                .collect();
            [prefix, s.course_code.clone()]
        })
        .filter(|w| !w.is_empty())
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    words.sort();
    words
}

// ---------------------------------------------------------------- the timed phase

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Kind {
    Browse,
    Add,
    Drop,
}

impl Kind {
    const ALL: [Kind; 3] = [Kind::Browse, Kind::Add, Kind::Drop];

    fn name(self) -> &'static str {
        match self {
            Kind::Browse => "browse",
            Kind::Add => "add",
            Kind::Drop => "drop",
        }
    }
}

/// What every simulated student shares, read-only.
struct Plan {
    urls: Vec<String>,
    sections: Vec<i64>,
    hot: Vec<i64>,
    hot_share: f64,
    words: Vec<String>,
    think_ms: u64,
    requests: Option<u64>,
}

/// Counters the progress lines read while the students run.
#[derive(Default)]
struct Live {
    stop: AtomicBool,
    started: AtomicU64,
    done: AtomicU64,
    writes: AtomicU64,
    server_errors: AtomicU64,
    transport_errors: AtomicU64,
}

/// One student's (and after merging, everyone's) latencies and answers.
#[derive(Default)]
struct Tally {
    /// Microseconds, by `Kind` in `Kind::ALL` order.
    latencies: [Vec<u64>; 3],
    answers: BTreeMap<(Kind, String), u64>,
    last_done: Option<Instant>,
}

impl Tally {
    fn merge(&mut self, other: Tally) {
        for (mine, theirs) in self.latencies.iter_mut().zip(other.latencies) {
            mine.extend(theirs);
        }
        for (key, n) in other.answers {
            *self.answers.entry(key).or_default() += n;
        }
        self.last_done = self.last_done.max(other.last_done);
    }

    fn count_of(&self, answer: &str) -> u64 {
        self.answers
            .iter()
            .filter(|((_, a), _)| a == answer)
            .map(|(_, n)| n)
            .sum()
    }

    fn count_kind(&self, kind: Kind) -> u64 {
        self.latencies[kind as usize].len() as u64
    }
}

async fn timed_phase(
    client: &Client,
    plan: Arc<Plan>,
    students: &[Student],
    opts: &Options,
) -> AppResult<Tally> {
    if let Some(rate) = opts.rate {
        return paced_phase(client, plan, students, opts, rate).await;
    }
    let live = Arc::new(Live::default());
    let barrier = Arc::new(Barrier::new(opts.concurrency + 1));
    let warmup = Instant::now();
    let mut set = JoinSet::new();
    for i in 0..opts.concurrency {
        let sim = Simulated::new(i, client, students, &plan, &live, opts.seed);
        set.spawn(sim.run(barrier.clone()));
    }
    barrier.wait().await;
    let start = Instant::now();
    println!(
        "{} simulated students ready ({} logged in; their registrations fetched in {:.1} s); go: {}, think 0-{} ms",
        opts.concurrency,
        students.len(),
        warmup.elapsed().as_secs_f64(),
        match opts.requests {
            Some(n) => format!("{n} requests"),
            None => format!("{} s", opts.duration_secs),
        },
        2 * opts.think_ms,
    );
    let progress = tokio::spawn(progress(live.clone(), start));
    if opts.requests.is_none() {
        tokio::time::sleep(Duration::from_secs(opts.duration_secs)).await;
        live.stop.store(true, Ordering::Relaxed);
    }
    let mut tally = Tally::default();
    while let Some(joined) = set.join_next().await {
        tally.merge(
            joined.map_err(|e| AppError::internal(format!("a simulated student failed: {e}")))?,
        );
    }
    live.stop.store(true, Ordering::Relaxed);
    progress.abort();
    let elapsed = tally
        .last_done
        .map_or(Duration::ZERO, |t| t.saturating_duration_since(start));
    report(&mut tally, elapsed);
    Ok(tally)
}

/// The timed phase of `--rate`: requests start on a fixed schedule, `rate` a second, each
/// made by the next student in turn (a student still busy with its last one makes it when that
/// ends; its latency still counts from the scheduled time).
async fn paced_phase(
    client: &Client,
    plan: Arc<Plan>,
    students: &[Student],
    opts: &Options,
    rate: f64,
) -> AppResult<Tally> {
    if !(rate > 0.0 && rate.is_finite()) {
        return Err(AppError::internal("--rate must be a positive number"));
    }
    let live = Arc::new(Live::default());
    let warmup = Instant::now();
    let failed =
        |e: tokio::task::JoinError| AppError::internal(format!("a request task failed: {e}"));
    let mut ready = JoinSet::new();
    for i in 0..opts.concurrency {
        let mut sim = Simulated::new(i, client, students, &plan, &live, opts.seed);
        ready.spawn(async move {
            sim.mine = sim.my_registrations().await;
            sim
        });
    }
    let mut sims = Vec::with_capacity(opts.concurrency);
    while let Some(sim) = ready.join_next().await {
        sims.push(Arc::new(tokio::sync::Mutex::new(sim.map_err(failed)?)));
    }
    println!(
        "{} simulated students ready ({} logged in; their registrations fetched in {:.1} s); go: {}, offered {rate} requests/s",
        sims.len(),
        students.len(),
        warmup.elapsed().as_secs_f64(),
        match opts.requests {
            Some(n) => format!("{n} requests"),
            None => format!("{} s", opts.duration_secs),
        },
    );
    let start = Instant::now();
    let progress = tokio::spawn(progress(live.clone(), start));
    let end = start + Duration::from_secs(opts.duration_secs);
    let mut inflight = JoinSet::new();
    let mut k: u64 = 0;
    loop {
        let due = start + Duration::from_secs_f64(k as f64 / rate);
        let done = match opts.requests {
            Some(limit) => k >= limit,
            None => due >= end,
        };
        if done {
            break;
        }
        tokio::time::sleep_until(due.into()).await;
        let sim = sims[(k as usize) % sims.len()].clone();
        inflight.spawn(async move { sim.lock().await.step(Some(due)).await });
        k += 1;
        while let Some(finished) = inflight.try_join_next() {
            finished.map_err(failed)?;
        }
    }
    while let Some(finished) = inflight.join_next().await {
        finished.map_err(failed)?;
    }
    live.stop.store(true, Ordering::Relaxed);
    progress.abort();
    let mut tally = Tally::default();
    for sim in sims {
        tally.merge(std::mem::take(&mut sim.lock().await.tally));
    }
    let elapsed = tally
        .last_done
        .map_or(Duration::ZERO, |t| t.saturating_duration_since(start));
    println!(
        "offered: {k} requests in {:.1} s ({rate} req/s)",
        k as f64 / rate
    );
    report(&mut tally, elapsed);
    Ok(tally)
}

async fn progress(live: Arc<Live>, start: Instant) {
    let mut tick =
        tokio::time::interval_at(tokio::time::Instant::now() + PROGRESS_EVERY, PROGRESS_EVERY);
    let (mut last_done, mut last_writes) = (0, 0);
    loop {
        tick.tick().await;
        if live.stop.load(Ordering::Relaxed) {
            return;
        }
        let done = live.done.load(Ordering::Relaxed);
        let writes = live.writes.load(Ordering::Relaxed);
        let secs = PROGRESS_EVERY.as_secs_f64();
        println!(
            "  {:>5.1} s  {done:>8} requests  {:>7.0} req/s  {:>7.0} writes/s  5xx {}  transport errors {}",
            start.elapsed().as_secs_f64(),
            (done - last_done) as f64 / secs,
            (writes - last_writes) as f64 / secs,
            live.server_errors.load(Ordering::Relaxed),
            live.transport_errors.load(Ordering::Relaxed),
        );
        (last_done, last_writes) = (done, writes);
    }
}

/// One simulated student: browses, adds and drops until told to stop.
struct Simulated {
    client: Client,
    base: String,
    token: String,
    plan: Arc<Plan>,
    live: Arc<Live>,
    rng: ChaCha8Rng,
    /// This student's live registrations in the current term (ids), as far as it knows.
    mine: Vec<i64>,
    tally: Tally,
    /// When the next request was due (`--rate`); its latency counts from then.
    due: Option<Instant>,
}

impl Simulated {
    /// The `i`-th simulated student: the `i`-th login (round robin), the `i`-th server address,
    /// its own random stream from `seed`.
    fn new(
        i: usize,
        client: &Client,
        students: &[Student],
        plan: &Arc<Plan>,
        live: &Arc<Live>,
        seed: u64,
    ) -> Self {
        Simulated {
            client: client.clone(),
            base: plan.urls[i % plan.urls.len()].clone(),
            token: students[i % students.len()].token.clone(),
            plan: plan.clone(),
            live: live.clone(),
            rng: ChaCha8Rng::seed_from_u64(seed.wrapping_mul(1_000_003).wrapping_add(i as u64)),
            mine: Vec::new(),
            tally: Tally::default(),
            due: None,
        }
    }

    async fn run(mut self, barrier: Arc<Barrier>) -> Tally {
        // NOTE: fetching its registrations before the start also opens this student's
        // connection, so the timed phase does not begin with 2,000 TCP handshakes at once.
        self.mine = self.my_registrations().await;
        barrier.wait().await;
        // Students do not all click in the same millisecond: each starts after one think time,
        // as between any two of its requests, so arrivals are spread from the first second.
        if self.plan.think_ms > 0 {
            let ms = self.rng.random_range(0..=2 * self.plan.think_ms);
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
        while !self.live.stop.load(Ordering::Relaxed) {
            if let Some(limit) = self.plan.requests
                && self.live.started.fetch_add(1, Ordering::Relaxed) >= limit
            {
                self.live.stop.store(true, Ordering::Relaxed);
                break;
            }
            self.step(None).await;
            if self.plan.think_ms > 0 {
                let ms = self.rng.random_range(0..=2 * self.plan.think_ms);
                tokio::time::sleep(Duration::from_millis(ms)).await;
            }
        }
        self.tally
    }

    /// One request: a browse, an add or a drop (`due`: when it was scheduled, if it was).
    async fn step(&mut self, due: Option<Instant>) {
        self.due = due;
        let roll: f64 = self.rng.random();
        if roll < BROWSE_SHARE {
            self.browse().await;
        } else if roll < BROWSE_SHARE + ADD_SHARE || self.mine.is_empty() {
            self.add().await;
        } else {
            self.drop_one().await;
        }
    }

    async fn my_registrations(&self) -> Vec<i64> {
        let url = format!("{}/api/v1/registrations?term=current", self.base);
        let Ok((status, body)) = exchange(self.client.get(&url).bearer_auth(&self.token)).await
        else {
            return Vec::new();
        };
        if !status.is_success() {
            return Vec::new();
        }
        serde_json::from_value::<Vec<MyRegistration>>(body)
            .unwrap_or_default()
            .into_iter()
            .filter(|r| r.status == ENROLLED || r.status == WAITLISTED)
            .map(|r| r.id)
            .collect()
    }

    /// Sends, times and records one request; the answer's status and body when it came.
    async fn timed(&mut self, kind: Kind, req: RequestBuilder) -> Option<(StatusCode, Value)> {
        let sent = self.due.take().unwrap_or_else(Instant::now);
        let result = exchange(req).await;
        let now = Instant::now();
        self.tally.latencies[kind as usize].push(now.duration_since(sent).as_micros() as u64);
        self.tally.last_done = Some(now);
        self.live.done.fetch_add(1, Ordering::Relaxed);
        if kind != Kind::Browse {
            self.live.writes.fetch_add(1, Ordering::Relaxed);
        }
        let answer = match &result {
            Ok((status, body)) => {
                let name = answer_name(*status, body);
                if status.is_server_error() {
                    let n = self.live.server_errors.fetch_add(1, Ordering::Relaxed);
                    if n < SHOW_ERRORS {
                        eprintln!("  {} answered {status}: {body}", kind.name());
                    }
                }
                name
            }
            Err(e) => {
                let n = self.live.transport_errors.fetch_add(1, Ordering::Relaxed);
                if n < SHOW_ERRORS {
                    eprintln!("  {} failed: {e}", kind.name());
                }
                TRANSPORT_ERROR.to_string()
            }
        };
        *self.tally.answers.entry((kind, answer)).or_default() += 1;
        result.ok()
    }

    async fn browse(&mut self) {
        let page = self.rng.random_range(1..=3_u32).to_string();
        let mut query = vec![
            ("term", "current".to_string()),
            ("open_only", "true".to_string()),
            ("per_page", "20".to_string()),
            ("page", page),
        ];
        if !self.plan.words.is_empty() && self.rng.random_bool(SEARCH_SHARE) {
            let word = self.plan.words[self.rng.random_range(0..self.plan.words.len())].clone();
            query.push(("q", word));
        }
        let req = self
            .client
            .get(format!("{}/api/v1/sections", self.base))
            .bearer_auth(&self.token)
            .query(&query);
        self.timed(Kind::Browse, req).await;
    }

    async fn add(&mut self) {
        let plan = self.plan.clone();
        let section = if !plan.hot.is_empty() && self.rng.random_bool(plan.hot_share) {
            plan.hot[self.rng.random_range(0..plan.hot.len())]
        } else {
            plan.sections[self.rng.random_range(0..plan.sections.len())]
        };
        let req = self
            .client
            .post(format!("{}/api/v1/registrations", self.base))
            .bearer_auth(&self.token)
            .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
            .json(&json!({"section_id": section}));
        if let Some((status, body)) = self.timed(Kind::Add, req).await
            && status.is_success()
            && let Some(id) = body.get("id").and_then(Value::as_i64)
            && !self.mine.contains(&id)
        {
            self.mine.push(id);
        }
    }

    async fn drop_one(&mut self) {
        let at = self.rng.random_range(0..self.mine.len());
        let id = self.mine[at];
        let req = self
            .client
            .delete(format!("{}/api/v1/registrations/{id}", self.base))
            .bearer_auth(&self.token);
        if let Some((status, _)) = self.timed(Kind::Drop, req).await
            && (status.is_success() || status == StatusCode::NOT_FOUND)
        {
            self.mine.swap_remove(at);
        }
    }
}

// ---------------------------------------------------------------- the report

/// The nearest-rank percentile of sorted values.
fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted
        .get(rank.clamp(1, sorted.len()) - 1)
        .copied()
        .unwrap_or(0)
}

fn latency_line(name: &str, sorted: &[u64]) {
    let ms = |us: u64| us as f64 / 1000.0;
    println!(
        "  {name:<8} {:>9} {:>9.1} {:>9.1} {:>9.1} {:>9.1}",
        sorted.len(),
        ms(percentile(sorted, 0.50)),
        ms(percentile(sorted, 0.95)),
        ms(percentile(sorted, 0.99)),
        ms(sorted.last().copied().unwrap_or(0)),
    );
}

fn report(tally: &mut Tally, elapsed: Duration) {
    let secs = elapsed.as_secs_f64().max(1e-9);
    for lat in &mut tally.latencies {
        lat.sort_unstable();
    }
    let mut all: Vec<u64> = tally.latencies.iter().flatten().copied().collect();
    all.sort_unstable();
    let (adds, drops) = (tally.count_kind(Kind::Add), tally.count_kind(Kind::Drop));
    println!("== timed phase: {secs:.1} s");
    println!(
        "requests: {} ({:.0} req/s)",
        all.len(),
        all.len() as f64 / secs
    );
    println!(
        "registration writes: {} ({:.0} req/s; add {:.0}/s, drop {:.0}/s)",
        adds + drops,
        (adds + drops) as f64 / secs,
        adds as f64 / secs,
        drops as f64 / secs,
    );
    println!("latency (ms)      count       p50       p95       p99       max");
    latency_line("all", &all);
    for kind in Kind::ALL {
        latency_line(kind.name(), &tally.latencies[kind as usize]);
    }
    println!("answers:");
    let listed: Vec<String> = LISTED_ANSWERS
        .iter()
        .map(|a| format!("{a} {}", tally.count_of(a)))
        .collect();
    println!("  {}", listed.join(", "));
    for kind in Kind::ALL {
        let line: Vec<String> = tally
            .answers
            .iter()
            .filter(|((k, _), _)| *k == kind)
            .map(|((_, a), n)| format!("{a} {n}"))
            .collect();
        println!("  {:<8} {}", kind.name(), line.join(", "));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_errors_fail_the_run_even_when_every_answer_was_fine() {
        let answers = [("enrolled", 900), ("full", 40), (TRANSPORT_ERROR, 203_530)];
        let v = verdict(answers.into_iter(), 0);
        assert_eq!(v.transport_errors, 203_530);
        assert!(!v.passed());
        assert!(v.to_string().contains("203530 transport errors"));
    }

    #[test]
    fn server_errors_redirects_and_failed_checks_fail_the_run() {
        let five = verdict([("ok", 10), (SERVER_ERROR, 1)].into_iter(), 0);
        assert_eq!(five.server_errors, 1);
        assert!(!five.passed());
        let name = answer_name(StatusCode::SEE_OTHER, &Value::Null);
        let redirect = verdict([("ok", 10), (name.as_str(), 2)].into_iter(), 0);
        assert_eq!(redirect.unexpected, 2);
        assert!(!redirect.passed());
        assert!(!verdict([("ok", 10)].into_iter(), 1).passed());
    }

    #[test]
    fn successes_and_refusals_pass() {
        let refusal = answer_name(
            StatusCode::CONFLICT,
            &serde_json::json!({"error": {"code": "section_full"}}),
        );
        let answers = [
            ("enrolled", 5),
            ("dropped", 3),
            (refusal.as_str(), 7),
            ("http_404", 1),
        ];
        assert!(verdict(answers.into_iter(), 0).passed());
    }
}
