# Claim mappers of an identity provider. Run:ai applies mapper changes
# asynchronously; apply waits until they are visible. Destroy resets them to empty.
resource "identity_idp_mappers" "corp" {
  idp    = identity_idp.example.alias
  uid    = "sub"
  gid    = "gid_number"
  groups = "groups"
  email  = "email"

  timeouts = {
    create = "2m"
    update = "2m"
  }
}
