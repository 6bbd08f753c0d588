# All of Jane's groups in one Bulk request; with exclusive = true she also leaves any
# group not listed here.
resource "identity_scim_user_group_memberships" "jane" {
  user_id   = identity_scim_user.jane.id
  group_ids = [identity_scim_group.engineering.id]
  exclusive = false
}
