# terraform query -generate-config-out=generated.tf
list "identity_scim_user" "contractors" {
  provider         = identity
  include_resource = true

  config {
    filter = provider::identity::scim_filter("userName", "ew", "@contractor.example.com")
  }
}
