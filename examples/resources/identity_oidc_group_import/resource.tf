# Stage the groups of the Landscape OIDC issuer 123. Apply waits until the import session
# has completed; a session that fails, or is still running after timeouts.create, is an
# error and is recorded tainted (the next apply starts a new import).
resource "identity_oidc_group_import" "corp" {
  issuer_id = 123

  # Change any value to run a new import: the resource is replaced. Landscape has no API
  # to delete an import session, so destroy only removes it from the Terraform state.
  triggers = {
    refreshed = "2025-01-15"
  }

  timeouts = {
    create = "10m"
  }
}

output "staged_group_count" {
  value = identity_oidc_group_import.corp.staged_count
}
