# Name the groups this resource manages: the state then reproduces a non-exclusive
# resource exactly, and the next apply changes nothing.
terraform import identity_scim_user_group_memberships.jane 2f7c1e0a4b5d4c3e9a8f7b6c5d4e3f2a/9d8c7b6a5f4e4d3c2b1a0f9e8d7c6b5a,5a4b3c2d1e0f4a9b8c7d6e5f4a3b2c1d

# An exclusive resource (exclusive = true): every current group is managed.
terraform import identity_scim_user_group_memberships.jane '2f7c1e0a4b5d4c3e9a8f7b6c5d4e3f2a/*'

# By the user's id alone, every current group is recorded but none is managed yet: the
# next apply of a non-exclusive configuration removes no membership (the plan warns which
# groups stop being managed), and a destroy before that apply leaves every membership.
terraform import identity_scim_user_group_memberships.jane 2f7c1e0a4b5d4c3e9a8f7b6c5d4e3f2a
