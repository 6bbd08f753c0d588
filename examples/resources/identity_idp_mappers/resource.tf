# Claim mappers of an identity provider. Run:ai applies mapper changes
# asynchronously; apply waits until they are visible. Destroy resets them to empty.
resource "identity_idp_mappers" "corp" {
  idp    = identity_idp.example.alias
  uid    = "sub"
  gid    = "gid_number"
  groups = "groups"
  email  = "email"

  timeouts = {
    create = "2m"
    update = "2m"
  }
}

resource "identity_idp" "example" {
  name = "corp-oidc"
  type = "oidc"

  oidc = {
    client_id             = "runai"
    client_secret_wo      = var.oidc_client_secret
    discover_document_url = "https://login.example.com/.well-known/openid-configuration"
  }
}

variable "oidc_client_secret" {
  type      = string
  sensitive = true
  ephemeral = true
}
