# A group is imported by its SCIM id or by its OCI ocid.
terraform import identity_scim_group.engineering 9d8c7b6a5f4e4d3c2b1a0f9e8d7c6b5a
