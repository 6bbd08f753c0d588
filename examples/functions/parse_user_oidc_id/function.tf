variable "assignment_id" {
  description = "The id of an identity_user_oidc, e.g. from another configuration's outputs."
  type        = string
  default     = "9124292845052624898/9124292845052624897"
}

locals {
  # { user_id = "9124292845052624898", oidc_id = "9124292845052624897" }
  assignment = provider::identity::parse_user_oidc_id(var.assignment_id)
}

output "assigned_user_id" {
  value = local.assignment.user_id
}
