variable "initial_password" {
  type      = string
  sensitive = true
  ephemeral = true
}

# A user in an OCI IAM identity domain (or any SCIM 2.0 service). The password is
# write-only: it is set through the password changer and never stored in state.
resource "identity_scim_user" "jane" {
  user_name   = "jane.doe@example.com"
  given_name  = "Jane"
  family_name = "Doe"

  emails = [{
    value   = "jane.doe@example.com"
    type    = "work"
    primary = true
  }]

  password_wo         = var.initial_password
  password_wo_version = 1
}
