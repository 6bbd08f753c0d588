variable "email" {
  description = "A user's e-mail address, from anywhere: the function quotes it."
  type        = string
  default     = "jane.o\"neil@example.com"
}

# The users with this user name: `userName eq "jane.o\"neil@example.com"`.
data "identity_scim_users" "by_email" {
  filter = provider::identity::scim_filter("userName", "eq", var.email)
}

# Expressions combine with `and`, `or` and parentheses in a template.
data "identity_scim_users" "active_engineers" {
  filter = join(" and ", [
    provider::identity::scim_filter("active", "eq", true),
    provider::identity::scim_filter("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "eq", "Engineering"),
    provider::identity::scim_filter("title", "pr"),
  ])
}

output "by_email_ids" {
  value = [for u in data.identity_scim_users.by_email.users : u.id]
}
