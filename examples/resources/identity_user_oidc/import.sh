# An assignment is imported by "<user_id>/<oidc_id>" (both Fudo ids, in decimal digits).
terraform import identity_user_oidc.john 9124292845052624898/9124292845052624897
