resource "identity_oidc_group_import" "corp" {
  issuer_id = 123
}

# Every group the import session staged; the provider pages through all of them.
data "identity_oidc_staged_groups" "corp" {
  import_session_id = identity_oidc_group_import.corp.id
}

# Groups already imported into Landscape are left out unless asked for.
data "identity_oidc_staged_groups" "all" {
  import_session_id = identity_oidc_group_import.corp.id
  include_imported  = true
}

output "staged_group_names" {
  value = data.identity_oidc_staged_groups.corp.groups[*].name
}

output "already_imported" {
  value = data.identity_oidc_staged_groups.all.group_count - data.identity_oidc_staged_groups.corp.group_count
}
