# Import the issuer's groups on demand:
#   terraform apply -invoke=action.identity_oidc_group_import.corp
action "identity_oidc_group_import" "corp" {
  config {
    issuer_id = 123
    timeout   = "15m"
  }
}

# Or every time the identity provider is created or changed.
resource "identity_idp" "corp" {
  name = "corp-sso"
  type = "oidc"
  oidc = {
    client_id             = "runai"
    client_secret_wo      = var.client_secret
    discover_document_url = "https://login.example.com/.well-known/openid-configuration"
  }

  lifecycle {
    action_trigger {
      events  = [after_create, after_update]
      actions = [action.identity_oidc_group_import.corp]
    }
  }
}

variable "client_secret" {
  type      = string
  ephemeral = true
}
