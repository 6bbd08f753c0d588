# A group whose members Terraform manages (authoritative). Leave members out to
# manage membership elsewhere.
resource "identity_scim_group" "engineering" {
  display_name = "engineering"
  description  = "Everyone who ships code"
  members      = [identity_scim_user.jane.id]
}

resource "identity_scim_user" "jane" {
  user_name = "jane.doe@example.com"
}
