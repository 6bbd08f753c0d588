# Quickstart: an OIDC identity provider in Run:ai, served by the local sandbox.
#
# scripts/quickstart builds the provider, starts `identity-sandbox`, points Terraform at
# the local build (dev_overrides) and sets the IDENTITY_* environment variables the
# empty provider block below falls back to. To run it by hand, see that script.

terraform {
  required_providers {
    identity = {
      source = "idfabric/identity"
    }
  }
}

# Everything comes from the environment: IDENTITY_RUNAI_URL, IDENTITY_RUNAI_TOKEN, ...
provider "identity" {}

variable "client_secret" {
  description = "OIDC client secret. Write-only: sent to Run:ai, never stored in state."
  type        = string
  sensitive   = true
  ephemeral   = true
  default     = "quickstart-client-secret"
}

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

output "alias" {
  description = "The Run:ai alias of the identity provider."
  value       = identity_idp.corp.alias
}

output "redirect_uri" {
  description = "Register this redirect URI with your OIDC identity provider."
  value       = identity_idp.corp.redirect_uri
}
