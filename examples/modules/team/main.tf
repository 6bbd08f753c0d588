# A team: its people as SCIM users, a SCIM group holding exactly them, and the Run:ai
# identity provider they sign in through, with its claim mappers.

terraform {
  required_version = ">= 1.11"
  required_providers {
    identity = {
      source = "idfabric/identity"
    }
  }
}

resource "identity_scim_user" "member" {
  for_each = var.members

  user_name    = each.key
  given_name   = each.value.given_name
  family_name  = each.value.family_name
  display_name = "${each.value.given_name} ${each.value.family_name}"
  emails = [{
    value   = each.key
    primary = true
  }]
}

resource "identity_scim_group" "team" {
  display_name = var.name
  description  = "Team ${var.name}, managed by Terraform"
  # Authoritative: anyone added to the group outside Terraform shows up in the plan as a
  # removal.
  members = [for u in identity_scim_user.member : u.id]
}

resource "identity_idp" "sso" {
  name = "${var.name}-sso"
  type = "oidc"
  oidc = {
    client_id                = var.oidc.client_id
    client_secret_wo         = var.oidc_client_secret
    client_secret_wo_version = var.oidc.secret_version
    discover_document_url    = var.oidc.discover_document_url
    scopes                   = ["openid", "email", "groups"]
  }
}

resource "identity_idp_mappers" "sso" {
  idp    = identity_idp.sso.alias
  uid    = "sub"
  groups = "groups"
  email  = "email"
}
