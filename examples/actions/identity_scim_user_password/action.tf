# Rotate a password on demand, with no state involved:
#   TF_VAR_new_password=... terraform apply -invoke=action.identity_scim_user_password.alice
variable "new_password" {
  type      = string
  ephemeral = true
}

resource "identity_scim_user" "alice" {
  user_name = "alice@example.com"

  # Give the new user its first password as soon as it exists.
  lifecycle {
    action_trigger {
      events  = [after_create]
      actions = [action.identity_scim_user_password.alice]
    }
  }
}

action "identity_scim_user_password" "alice" {
  config {
    user_id  = identity_scim_user.alice.id
    password = var.new_password
  }
}
