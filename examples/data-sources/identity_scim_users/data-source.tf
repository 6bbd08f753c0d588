# Users whose user name starts with "jane", read page by page. scim_filter quotes the
# value, so a value with `"` or `\` cannot break the filter.
data "identity_scim_users" "janes" {
  filter = provider::identity::scim_filter("userName", "sw", "jane")
}

output "jane_ids" {
  value = [for u in data.identity_scim_users.janes.users : u.id]
}
