# One membership, leaving the group's other members alone.
resource "identity_scim_group_member" "jane_in_oncall" {
  group_id = "9d8c7b6a5f4e4d3c2b1a0f9e8d7c6b5a"
  user_id  = identity_scim_user.jane.id
}

resource "identity_scim_user" "jane" {
  user_name = "jane.doe@example.com"
}
