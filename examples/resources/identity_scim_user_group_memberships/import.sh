# Imported by the user's SCIM id; the state then lists all of the user's groups.
terraform import identity_scim_user_group_memberships.jane 2f7c1e0a4b5d4c3e9a8f7b6c5d4e3f2a
