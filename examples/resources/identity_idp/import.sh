# An identity provider is imported by its Run:ai alias.
terraform import identity_idp.example corp-oidc
