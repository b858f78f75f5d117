//! The words of an e-mail, in the recipient's language: the subject and text of each kind
//! (`mail.<kind>.subject` / `.body` in the translation files, with `{name}` values), and the
//! footer added when it is sent (the portal link, why it came, the unsubscribe link).

use super::categories::Category;
use super::mailer::Mailer;
use crate::entity::outbox;
use crate::i18n::{Lang, fill};

/// What to tell one person, before it is put in their language.
#[derive(Debug, Clone, Default)]
pub struct Letter {
    /// The notification kind (`case.reply`, `grade.published`, …).
    pub kind: String,
    /// Values for the `{name}` places of the kind's subject and text.
    pub args: Vec<(&'static str, String)>,
    /// Text quoted below (a case answer, an announcement's body).
    pub quote: Option<String>,
    /// The portal path it points at.
    pub link: Option<String>,
}

impl Letter {
    pub fn new(kind: &str) -> Letter {
        Letter {
            kind: kind.to_string(),
            ..Default::default()
        }
    }

    pub fn arg(mut self, name: &'static str, value: impl ToString) -> Letter {
        self.args.push((name, value.to_string()));
        self
    }

    pub fn quote(mut self, text: &str) -> Letter {
        let text = text.trim();
        if !text.is_empty() {
            self.quote = Some(text.to_string());
        }
        self
    }

    pub fn link(mut self, path: &str) -> Letter {
        self.link = Some(path.to_string());
        self
    }
}

/// The language of a recipient: their chosen one, else Chinese (the portal's default).
pub fn lang_of(locale: Option<&str>) -> Lang {
    locale.and_then(Lang::parse).unwrap_or(Lang::Zh)
}

/// Subject and text of `letter` for `name`, in `lang`.
pub fn compose(lang: Lang, name: &str, letter: &Letter) -> (String, String) {
    let key = format!("mail.{}", letter.kind);
    let subject = fill(&lang.t(&format!("{key}.subject")), &letter.args);
    let mut body = fill(&lang.t("mail.greeting"), &[("name", name.to_string())]);
    body.push_str("\n\n");
    body.push_str(&fill(&lang.t(&format!("{key}.body")), &letter.args));
    if let Some(q) = &letter.quote {
        body.push_str("\n\n");
        for line in q.lines() {
            body.push_str("> ");
            body.push_str(line);
            body.push('\n');
        }
    }
    (subject.chars().take(250).collect(), body)
}

/// A notification's title and text for `letter` in `lang`, when its kind has words of its own
/// (`mail.<kind>.subject` / `.body`); the quoted text follows the body.
pub fn notice(lang: Lang, letter: &Letter) -> Option<(String, String)> {
    let key = format!("mail.{}", letter.kind);
    let subject = lang.find(&format!("{key}.subject"))?;
    let mut body = fill(&lang.t(&format!("{key}.body")), &letter.args);
    if let Some(q) = &letter.quote {
        body.push('\n');
        body.push_str(q);
    }
    Some((
        fill(&subject, &letter.args).chars().take(250).collect(),
        body,
    ))
}

/// The words a notification keeps of its letter (see [`notice`]), as JSON.
pub fn words(letter: &Letter) -> String {
    serde_json::json!({"kind": letter.kind, "args": letter.args, "quote": letter.quote}).to_string()
}

/// A stored notification's title and text in `lang`, from its [`words`].
pub fn notice_from_words(lang: Lang, words: &str) -> Option<(String, String)> {
    let v: serde_json::Value = serde_json::from_str(words).ok()?;
    let args: Vec<(String, String)> = serde_json::from_value(v["args"].clone()).ok()?;
    let key = format!("mail.{}", v["kind"].as_str()?);
    let pairs: Vec<(&str, String)> = args.iter().map(|(k, a)| (k.as_str(), a.clone())).collect();
    let subject = fill(&lang.find(&format!("{key}.subject"))?, &pairs);
    let mut body = fill(&lang.t(&format!("{key}.body")), &pairs);
    if let Some(q) = v["quote"].as_str() {
        body.push('\n');
        body.push_str(q);
    }
    Some((subject.chars().take(250).collect(), body))
}

/// The one-click unsubscribe address of a row, for optional categories of a known user.
pub fn unsubscribe_url(mailer: &Mailer, row: &outbox::Model) -> Option<String> {
    let category = Category::parse(&row.category)?;
    let user = row.user_id?;
    category.optional().then(|| {
        format!(
            "{}/unsubscribe/{}",
            mailer.public_url,
            super::token::make(&mailer.key, user, category)
        )
    })
}

/// The stored text with the links and footer, as it is sent.
pub fn full_body(mailer: &Mailer, row: &outbox::Model) -> String {
    let lang = lang_of(Some(&row.lang));
    let mut body = row.body_text.trim_end().to_string();
    if let Some(link) = &row.link {
        body.push_str("\n\n");
        body.push_str(&lang.t("mail.open"));
        body.push(' ');
        body.push_str(&mailer.public_url);
        body.push_str(link);
    }
    body.push_str("\n\n-- \n");
    let category = lang.t(&format!("mail.category.{}", row.category));
    body.push_str(&fill(&lang.t("mail.footer.why"), &[("category", category)]));
    if let Some(url) = unsubscribe_url(mailer, row) {
        body.push('\n');
        body.push_str(&lang.t("mail.footer.unsubscribe"));
        body.push(' ');
        body.push_str(&url);
    }
    if row.user_id.is_some() {
        body.push('\n');
        body.push_str(&lang.t("mail.footer.prefs"));
        body.push(' ');
        body.push_str(&mailer.public_url);
        body.push_str("/account/notifications");
    }
    body.push('\n');
    body
}

/// A student's activation letter: their one-time code, by e-mail.
#[derive(Debug, Clone)]
pub struct ActivationLetter<'a> {
    pub user_id: i64,
    pub to: &'a str,
    pub student_no: &'a str,
    pub name_zh: &'a str,
    pub name_en: &'a str,
    pub code: &'a str,
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

/// Subject and text of an activation letter: in the student's language when they chose one,
/// else in Chinese and English (a new account has not chosen yet).
pub fn compose_activation(locale: Option<&str>, l: &ActivationLetter<'_>) -> (String, String) {
    let langs: Vec<Lang> = match locale.and_then(Lang::parse) {
        Some(lang) => vec![lang],
        None => vec![Lang::Zh, Lang::En],
    };
    let mut subjects = Vec::new();
    let mut parts = Vec::new();
    for lang in langs {
        let name = match lang {
            Lang::Zh => l.name_zh,
            Lang::En if l.name_en.trim().is_empty() => l.name_zh,
            Lang::En => l.name_en,
        };
        let args = [
            ("student_no", l.student_no.to_string()),
            ("code", l.code.to_string()),
            ("expires", lang.date(l.expires_at.date_naive())),
        ];
        subjects.push(lang.t("mail.account.activation.subject"));
        parts.push(format!(
            "{}\n\n{}",
            fill(&lang.t("mail.greeting"), &[("name", name.to_string())]),
            fill(&lang.t("mail.account.activation.body"), &args)
        ));
    }
    (subjects.join(" / "), parts.join("\n\n----\n\n"))
}
