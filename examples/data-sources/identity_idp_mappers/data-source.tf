data "identity_idp_mappers" "corp" {
  idp = "corp-oidc"
}

output "corp_uid_claim" {
  value = data.identity_idp_mappers.corp.uid
}
