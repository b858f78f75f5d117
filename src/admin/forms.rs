//! The administrators' page forms (their `_csrf` field is checked by `web::csrf::Csrf`).

#[derive(rocket::FromForm)]
pub struct NewUserForm<'a> {
    pub username: &'a str,
    pub display_name: &'a str,
    pub email: Option<&'a str>,
    pub kind: &'a str,
    pub password: &'a str,
    pub groups: Vec<String>,
}

#[derive(rocket::FromForm)]
pub struct GroupsForm {
    pub groups: Vec<String>,
}

#[derive(rocket::FromForm)]
pub struct ActiveForm {
    pub active: bool,
}

#[derive(rocket::FromForm)]
pub struct ResetForm<'a> {
    pub password: &'a str,
}

#[derive(rocket::FromForm)]
pub struct GroupForm<'a> {
    pub code: &'a str,
    pub name: &'a str,
    pub description: Option<&'a str>,
    pub permissions: Vec<String>,
    /// `password` (local passwords allowed) or `sso` (single sign-on only).
    pub sign_in: Option<&'a str>,
}

#[derive(rocket::FromForm)]
pub struct ModuleForm {
    pub enabled: bool,
}
