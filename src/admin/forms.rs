//! The administrators' page forms.

#[derive(rocket::FromForm)]
pub struct NewUserForm<'a> {
    pub username: &'a str,
    pub display_name: &'a str,
    pub email: Option<&'a str>,
    pub kind: &'a str,
    pub password: &'a str,
    pub groups: Vec<String>,
    #[field(name = "_csrf", default = "")]
    pub csrf: &'a str,
}

#[derive(rocket::FromForm)]
pub struct GroupsForm<'a> {
    pub groups: Vec<String>,
    #[field(name = "_csrf", default = "")]
    pub csrf: &'a str,
}

#[derive(rocket::FromForm)]
pub struct ActiveForm<'a> {
    pub active: bool,
    #[field(name = "_csrf", default = "")]
    pub csrf: &'a str,
}

#[derive(rocket::FromForm)]
pub struct ResetForm<'a> {
    pub password: &'a str,
    #[field(name = "_csrf", default = "")]
    pub csrf: &'a str,
}

#[derive(rocket::FromForm)]
pub struct GroupForm<'a> {
    pub code: &'a str,
    pub name: &'a str,
    pub description: Option<&'a str>,
    pub permissions: Vec<String>,
    #[field(name = "_csrf", default = "")]
    pub csrf: &'a str,
}

#[derive(rocket::FromForm)]
pub struct ModuleForm<'a> {
    pub enabled: bool,
    #[field(name = "_csrf", default = "")]
    pub csrf: &'a str,
}
