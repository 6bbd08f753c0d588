# A membership is imported as <group_id>/<user_id>.
terraform import identity_scim_group_member.jane_in_oncall 9d8c7b6a5f4e4d3c2b1a0f9e8d7c6b5a/2f7c1e0a4b5d4c3e9a8f7b6c5d4e3f2a
