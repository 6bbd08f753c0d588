# Users whose user name starts with "jane", read page by page.
data "identity_scim_users" "janes" {
  filter = "userName sw \"jane\""
}

output "jane_ids" {
  value = [for u in data.identity_scim_users.janes.users : u.id]
}
