output "group_id" {
  description = "SCIM id of the team's group."
  value       = identity_scim_group.team.id
}

output "member_ids" {
  description = "SCIM ids of the team's users, by user name."
  value       = { for k, u in identity_scim_user.member : k => u.id }
}

output "idp_alias" {
  description = "Run:ai alias of the team's identity provider."
  value       = identity_idp.sso.alias
}

output "redirect_uri" {
  description = "Register this redirect URI with the OIDC identity provider."
  value       = identity_idp.sso.redirect_uri
}
