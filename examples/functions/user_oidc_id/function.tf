# Adopt an existing assignment: its import id is "<user_id>/<oidc_id>". Fudo ids are
# 64-bit, so they are written as strings.
import {
  to = identity_user_oidc.jane
  id = provider::identity::user_oidc_id("9124292845052624898", "9124292845052624897")
}

resource "identity_user_oidc" "jane" {
  user_id  = "9124292845052624898"
  oidc_id  = "9124292845052624897"
  oidc_sub = "jane@example.com"
}
