variable "oidc_client_secret" {
  type      = string
  sensitive = true
  ephemeral = true
}

# An OIDC identity provider for Run:ai. The client secret is write-only: it is sent to
# Run:ai but never stored in the Terraform state. To rotate it, change the secret and
# bump client_secret_wo_version.
resource "identity_idp" "example" {
  name = "corp-oidc"
  type = "oidc"

  oidc = {
    client_id                = "runai"
    client_secret_wo         = var.oidc_client_secret
    client_secret_wo_version = 1
    discover_document_url    = "https://login.example.com/.well-known/openid-configuration"
    scopes                   = ["openid", "email", "profile", "groups"]

    mandatory_claim = {
      claim  = "groups"
      values = ["runai-users"]
    }
  }
}

output "redirect_uri" {
  description = "Register this redirect URI with the identity provider."
  value       = identity_idp.example.redirect_uri
}
