# Mappers are imported by the alias of their identity provider.
terraform import identity_idp_mappers.corp corp-oidc
