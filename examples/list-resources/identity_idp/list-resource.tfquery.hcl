# terraform query -generate-config-out=generated.tf
list "identity_idp" "oidc" {
  provider         = identity
  include_resource = true

  config {
    type = "oidc"
  }
}
