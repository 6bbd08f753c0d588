# The configuration under test of functions.tftest.hcl (tests/it/functions.rs runs it with
# `terraform test`, next to idp-metadata.xml, the sandbox's sample SAML metadata).
terraform {
  required_providers {
    identity = {
      source = "idfabric/identity"
    }
  }
}

variable "email" {
  type    = string
  default = "jane.o\"neil@example.com"
}

variable "idp_name" {
  type    = string
  default = "corp-sso"
}

variable "assignment_id" {
  type    = string
  default = "18446744073709551615/9124292845052624897"
}

locals {
  idp = provider::identity::saml_metadata(file("${path.module}/idp-metadata.xml"))
}

# A resource of the provider, which the mock provider stands in for.
resource "identity_scim_group" "team" {
  display_name = "team-${provider::identity::idp_alias(var.idp_name)}"
}

output "filter" {
  value = provider::identity::scim_filter("userName", "eq", var.email)
}

output "present" {
  value = provider::identity::scim_filter("title", "PR")
}

output "combined" {
  value = join(" and ", [
    provider::identity::scim_filter("active", "eq", true),
    provider::identity::scim_filter("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber", "ge", 1000),
  ])
}

output "alias" {
  value = provider::identity::idp_alias(var.idp_name)
}

output "assignment" {
  value = provider::identity::parse_user_oidc_id(var.assignment_id)
}

output "assignment_id" {
  value = provider::identity::user_oidc_id(
    provider::identity::parse_user_oidc_id(var.assignment_id).user_id,
    provider::identity::parse_user_oidc_id(var.assignment_id).oidc_id,
  )
}

output "idp" {
  value = local.idp
}
