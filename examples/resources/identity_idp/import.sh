# An identity provider is imported by its Run:ai alias.
terraform import identity_idp.example corp-oidc

# The client secret cannot be imported. The first update after the import (for example
# because `client_secret_wo_version` is configured) sends `client_secret_wo`, replacing
# the secret Run:ai holds; the plan warns about it.
