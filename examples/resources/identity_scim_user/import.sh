# A user is imported by its SCIM id or by its OCI ocid.
terraform import identity_scim_user.jane 2f7c1e0a4b5d4c3e9a8f7b6c5d4e3f2a
terraform import identity_scim_user.jane ocid1.user.oc1..aaaaaaaaexample

# The password cannot be imported. With `password_wo_version` configured, the first
# apply after the import sets `password_wo`, replacing the user's current password;
# the plan warns about it. Leave `password_wo_version` out until you mean to set it.
