# Every OpenID Connect configuration assigned to one Fudo user (leave user_id out to
# list the assignments of all users, built-in ones included).
data "identity_user_oidc_assignments" "john" {
  user_id = "9124292845052624898"
}

output "john_oidc_configurations" {
  value = [for a in data.identity_user_oidc_assignments.john.assignments : a.oidc_name]
}

# Import IDs (for `terraform import identity_user_oidc.<name> <id>`) of the user's
# assignments that Terraform can manage: built-in ones cannot be changed.
output "import_ids" {
  value = [for a in data.identity_user_oidc_assignments.john.assignments : a.id if !a.builtin]
}
