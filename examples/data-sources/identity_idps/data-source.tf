# Every identity provider configured in Run:ai.
data "identity_idps" "all" {}

output "idp_aliases" {
  value = [for idp in data.identity_idps.all.idps : idp.alias]
}
