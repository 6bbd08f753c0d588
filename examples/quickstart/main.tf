# Quickstart: all four vendors, served by the local sandbox.
#
# scripts/quickstart builds the provider, starts `identity-sandbox`, points Terraform at
# the local build (dev_overrides) and sets the IDENTITY_* environment variables the
# empty provider block below falls back to (and TF_VAR_sandbox_url).

terraform {
  required_providers {
    identity = {
      source = "idfabric/identity"
    }
  }
}

# Everything comes from the environment: IDENTITY_RUNAI_URL, IDENTITY_SCIM_URL, ...
provider "identity" {}

variable "sandbox_url" {
  description = "Base URL of identity-sandbox (for its sample SAML metadata)."
  type        = string
}

variable "client_secret" {
  description = "OIDC client secret. Write-only: sent to Run:ai, never stored in state."
  type        = string
  sensitive   = true
  ephemeral   = true
  default     = "quickstart-client-secret"
}

# Run:ai: an OIDC identity provider, its claim mappers, and a SAML one.
resource "identity_idp" "corp" {
  name = "corp-oidc"
  type = "oidc"

  oidc = {
    client_id                = "terraform-quickstart"
    client_secret_wo         = var.client_secret
    client_secret_wo_version = 1
    discover_document_url    = "https://idp.example.com/.well-known/openid-configuration"
    scopes                   = ["openid", "email", "profile"]

    mandatory_claim = {
      claim  = "groups"
      values = ["runai-users"]
    }
  }
}

resource "identity_idp_mappers" "corp" {
  idp    = identity_idp.corp.alias
  uid    = "sub"
  groups = "groups"
  email  = "email"
}

resource "identity_idp" "saml" {
  name = "corp-saml"
  type = "saml"

  saml = {
    metadata_xml_url = "${var.sandbox_url}/_sandbox/samples/saml-metadata.xml"
  }
}

# OCI IAM over SCIM: a user and a group with that user as its member.
resource "identity_scim_user" "jane" {
  user_name   = "jane.doe@example.com"
  given_name  = "Jane"
  family_name = "Doe"

  emails = [{
    value   = "jane.doe@example.com"
    primary = true
  }]
}

resource "identity_scim_group" "engineering" {
  display_name = "engineering"
  description  = "Everyone who ships code"
  members      = [identity_scim_user.jane.id]
}

# Fudo: assign the sandbox's seeded user to its seeded OIDC configuration.
resource "identity_user_oidc" "user1" {
  user_id  = "9124292845052624898"
  oidc_id  = "9124292845052624898"
  oidc_sub = "user1@example.com"
}

# Landscape: stage the OIDC groups of the seeded issuer, then read them.
resource "identity_oidc_group_import" "groups" {
  issuer_id = 123
}

data "identity_oidc_staged_groups" "groups" {
  import_session_id = identity_oidc_group_import.groups.id
}

output "alias" {
  description = "The Run:ai alias of the OIDC identity provider."
  value       = identity_idp.corp.alias
}

output "redirect_uri" {
  description = "Register this redirect URI with your OIDC identity provider."
  value       = identity_idp.corp.redirect_uri
}

output "saml_sso_url" {
  description = "The SSO URL Run:ai read from the SAML metadata."
  value       = identity_idp.saml.saml.single_sign_on_service_url
}

output "jane_id" {
  description = "SCIM id of the user."
  value       = identity_scim_user.jane.id
}

output "fudo_assignment" {
  description = "The Fudo user-to-OIDC assignment."
  value       = identity_user_oidc.user1.id
}

output "staged_groups" {
  description = "How many OIDC groups Landscape staged."
  value       = data.identity_oidc_staged_groups.groups.group_count
}
