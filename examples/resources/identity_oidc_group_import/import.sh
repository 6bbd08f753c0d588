# An import session is imported by its Landscape session id.
terraform import identity_oidc_group_import.corp 42
