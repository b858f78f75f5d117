//! The page forms of signing in, first sign-in and the password page.

#[derive(rocket::FromForm)]
pub struct LoginForm<'a> {
    // NOTE: defaults, so a form without its token is refused for the token (checked first).
    #[field(default = "")]
    pub username: &'a str,
    #[field(default = "")]
    pub password: &'a str,
    pub next: Option<&'a str>,
    #[field(name = "_csrf", default = "")]
    pub csrf: &'a str,
}

#[derive(rocket::FromForm)]
/// Checked by `web::csrf::Csrf`.
pub struct PasswordForm<'a> {
    pub current: &'a str,
    pub new_password: &'a str,
    pub confirm: &'a str,
}

#[derive(rocket::FromForm)]
pub struct ActivateForm<'a> {
    #[field(default = "")]
    pub student_no: &'a str,
    #[field(default = "")]
    pub code: &'a str,
    #[field(default = "")]
    pub national_id: &'a str,
    #[field(default = "")]
    pub birth_date: &'a str,
    #[field(default = "")]
    pub new_password: &'a str,
    #[field(default = "")]
    pub confirm: &'a str,
    #[field(name = "_csrf", default = "")]
    pub csrf: &'a str,
}
