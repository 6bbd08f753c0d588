# The groups a user belongs to.
data "identity_scim_groups" "of_jane" {
  member_user_id = "2f7c1e0a4b5d4c3e9a8f7b6c5d4e3f2a"
}

# Groups by name, with a filter built by scim_filter.
data "identity_scim_groups" "apps" {
  filter = provider::identity::scim_filter("displayName", "sw", "app-")
}

output "jane_groups" {
  value = [for g in data.identity_scim_groups.of_jane.groups : g.display_name]
}

output "app_groups" {
  value = [for g in data.identity_scim_groups.apps.groups : g.display_name]
}
