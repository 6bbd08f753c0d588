# All of Jane's groups in one Bulk request; with exclusive = true she also leaves any
# group not listed here.
resource "identity_scim_user_group_memberships" "jane" {
  user_id   = identity_scim_user.jane.id
  group_ids = [identity_scim_group.engineering.id]
  exclusive = false
}

resource "identity_scim_user" "jane" {
  user_name = "jane.doe@example.com"
}

resource "identity_scim_group" "engineering" {
  display_name = "engineering"
}
