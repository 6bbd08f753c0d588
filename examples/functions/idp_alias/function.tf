# The alias Run:ai gives the idp named "corp-sso": it addresses the idp before it
# exists, e.g. in a configuration that does not manage it.
data "identity_idp" "corp" {
  alias = provider::identity::idp_alias("corp-sso")
}

output "corp_redirect_uri" {
  value = data.identity_idp.corp.redirect_uri
}
