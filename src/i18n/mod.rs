//! Chinese and English. Every user-facing string comes from `zh.json` / `en.json`; the language
//! comes from the `lang` cookie (set by the switcher), else `Accept-Language`, else Chinese.

use crate::error::AppError;
use rocket::request::{FromRequest, Outcome, Request};
use serde::Serialize;
use serde_json::{Map, Value};
use std::sync::OnceLock;

/// The dictionaries: the portal's own strings, then one file per module, so a module's strings
/// live beside each other. A key repeated in two files is a mistake the key-set test reports.
const ZH_SOURCES: &[&str] = &[
    include_str!("zh.json"),
    include_str!("zh/attendance.json"),
    include_str!("zh/grades.json"),
    include_str!("zh/history.json"),
    include_str!("zh/mining.json"),
    include_str!("zh/interaction.json"),
    include_str!("zh/backup.json"),
    include_str!("zh/security.json"),
    include_str!("zh/ui.json"),
    include_str!("zh/analytics.json"),
    include_str!("zh/sso.json"),
    include_str!("zh/privacy.json"),
    include_str!("zh/mail.json"),
];
const EN_SOURCES: &[&str] = &[
    include_str!("en.json"),
    include_str!("en/attendance.json"),
    include_str!("en/grades.json"),
    include_str!("en/history.json"),
    include_str!("en/mining.json"),
    include_str!("en/interaction.json"),
    include_str!("en/backup.json"),
    include_str!("en/security.json"),
    include_str!("en/ui.json"),
    include_str!("en/analytics.json"),
    include_str!("en/sso.json"),
    include_str!("en/privacy.json"),
    include_str!("en/mail.json"),
];

/// Every source of one language, for the test that checks they parse and share their keys.
pub fn sources(lang: Lang) -> &'static [&'static str] {
    match lang {
        Lang::Zh => ZH_SOURCES,
        Lang::En => EN_SOURCES,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Lang {
    #[serde(rename = "zh")]
    Zh,
    #[serde(rename = "en")]
    En,
}

pub const LANG_COOKIE: &str = "lang";

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    pub fn parse(code: &str) -> Option<Lang> {
        match code.trim().to_ascii_lowercase().as_str() {
            c if c.starts_with("zh") => Some(Lang::Zh),
            c if c.starts_with("en") => Some(Lang::En),
            _ => None,
        }
    }

    /// The first supported language in an `Accept-Language` header, by quality.
    pub fn from_accept_language(header: &str) -> Option<Lang> {
        let mut best: Option<(f32, Lang)> = None;
        for part in header.split(',') {
            let mut bits = part.split(';');
            let tag = bits.next().unwrap_or_default();
            let q = bits
                .find_map(|b| {
                    b.trim()
                        .strip_prefix("q=")
                        .and_then(|v| v.parse::<f32>().ok())
                })
                .unwrap_or(1.0);
            if let Some(lang) = Lang::parse(tag)
                && best.is_none_or(|(bq, _)| q > bq)
            {
                best = Some((q, lang));
            }
        }
        best.map(|(_, l)| l)
    }

    pub fn from_request_parts(req: &Request<'_>) -> Lang {
        if let Some(l) = req
            .cookies()
            .get(LANG_COOKIE)
            .and_then(|c| Lang::parse(c.value()))
        {
            return l;
        }
        req.headers()
            .get_one("Accept-Language")
            .and_then(Lang::from_accept_language)
            .unwrap_or(Lang::Zh)
    }

    /// Every string of this language.
    pub fn dict(self) -> &'static Map<String, Value> {
        static ZH: OnceLock<Map<String, Value>> = OnceLock::new();
        static EN: OnceLock<Map<String, Value>> = OnceLock::new();
        let (cell, sources) = match self {
            Lang::Zh => (&ZH, ZH_SOURCES),
            Lang::En => (&EN, EN_SOURCES),
        };
        cell.get_or_init(|| {
            let mut all = Map::new();
            for src in sources {
                let part: Map<String, Value> = serde_json::from_str(src).unwrap_or_default();
                all.extend(part);
            }
            all
        })
    }

    /// One string, if there is one under `key`.
    pub fn find(self, key: &str) -> Option<String> {
        self.dict()
            .get(key)
            .and_then(|v| v.as_str())
            .map(str::to_string)
    }

    /// One string; the key itself when missing, so a gap is visible rather than blank.
    pub fn t(self, key: &str) -> String {
        self.dict()
            .get(key)
            .and_then(|v| v.as_str())
            .unwrap_or(key)
            .to_string()
    }

    /// The translation of `error.code.<code>` with its `{name}` values filled in, if there is
    /// one.
    ///
    /// An error with a `why` value is said by `error.code.<code>.<why>` where there is one
    /// (one code, `bad_file`, for the API; a sentence per cause for people).
    pub fn coded(self, code: &str, args: &[(&str, String)]) -> Option<String> {
        let why = args
            .iter()
            .find(|(k, _)| *k == "why")
            .and_then(|(_, w)| self.find(&format!("error.code.{code}.{w}")));
        why.or_else(|| self.find(&format!("error.code.{code}")))
            .map(|t| fill(&t, args))
    }

    /// What a page says about an error: its coded message in this language; else, in English,
    /// the error's own words; else the words for its status (never English on a Chinese page).
    ///
    /// NOTE: in English an error without values keeps its own words, which are often more
    /// precise than the sentence for its code.
    pub fn error(self, e: &AppError) -> String {
        if self == Lang::En && e.args().is_empty() {
            return e.public_message();
        }
        match self {
            Lang::En => self
                .coded(e.code(), e.args())
                .unwrap_or_else(|| e.public_message()),
            Lang::Zh => self.coded_or_status(e.code(), e.args(), e.status().code),
        }
    }

    /// The coded sentence (`error.code.<code>` with its values), else the words for the status:
    /// how a message kept as code, values and status (a job's, a skipped file's) is said.
    pub fn coded_or_status(self, code: &str, args: &[(&str, String)], status: u16) -> String {
        self.coded(code, args)
            .unwrap_or_else(|| self.t(&format!("error.{status}")))
    }
}

impl Lang {
    /// A date, or a date and time, as people read them in this language (zh `2026年12月20日
    /// 07:03`, en `20 Dec 2026 07:03`): the one way every page shows them. Text that is not a
    /// date (ISO 8601 / RFC 3339, with or without the time) comes back as it is.
    pub fn when(self, text: &str) -> String {
        use chrono::{DateTime, NaiveDate, NaiveDateTime};
        let t = text.trim();
        if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
            return self.datetime(dt.naive_local());
        }
        for f in [
            "%Y-%m-%dT%H:%M:%S%.f",
            "%Y-%m-%dT%H:%M",
            "%Y-%m-%d %H:%M:%S%.f",
            "%Y-%m-%d %H:%M",
        ] {
            if let Ok(n) = NaiveDateTime::parse_from_str(t, f) {
                return self.datetime(n);
            }
        }
        match NaiveDate::parse_from_str(t, "%Y-%m-%d") {
            Ok(d) => self.date(d),
            Err(_) => text.to_string(),
        }
    }

    /// A date in this language: `2026年12月20日`, `20 Dec 2026`.
    pub fn date(self, d: chrono::NaiveDate) -> String {
        use chrono::Datelike;
        match self {
            Lang::Zh => format!("{}年{}月{}日", d.year(), d.month(), d.day()),
            Lang::En => d.format("%-d %b %Y").to_string(),
        }
    }

    /// A date and time to the minute in this language.
    pub fn datetime(self, n: chrono::NaiveDateTime) -> String {
        format!("{} {}", self.date(n.date()), n.format("%H:%M"))
    }
}

/// Replaces each `{key}` in `template` with its value.
pub fn fill(template: &str, pairs: &[(&str, String)]) -> String {
    pairs.iter().fold(template.to_string(), |s, (k, v)| {
        s.replace(&format!("{{{k}}}"), v)
    })
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Lang {
    type Error = std::convert::Infallible;
    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        Outcome::Success(Lang::from_request_parts(req))
    }
}
