# One identity provider, e.g. to hand its redirect URI to the IdP's own configuration.
data "identity_idp" "corp" {
  alias = "corp-oidc"
}

output "corp_redirect_uri" {
  value = data.identity_idp.corp.redirect_uri
}
