# Runs with no API at all: every identity resource is mocked, so this checks the
# module's own logic (who ends up in the group, what the idp is called).

mock_provider "identity" {
  # Users get generated ids (distinct ones); the idp gets a fixed alias to check against.
  mock_resource "identity_idp" {
    defaults = {
      alias        = "mock-alias"
      redirect_uri = "https://runai.example.com/auth/realms/runai/broker/mock-alias/endpoint"
    }
  }
}

variables {
  name = "platform"
  members = {
    "ada@example.com"   = { given_name = "Ada", family_name = "Lovelace" }
    "grace@example.com" = { given_name = "Grace", family_name = "Hopper" }
  }
  oidc = {
    client_id             = "runai"
    discover_document_url = "https://login.example.com/.well-known/openid-configuration"
  }
  oidc_client_secret = "mock-secret"
}

run "everyone_is_in_the_group" {
  command = apply

  assert {
    condition     = length(identity_scim_group.team.members) == 2
    error_message = "The group holds every member."
  }

  assert {
    condition     = identity_scim_user.member["ada@example.com"].display_name == "Ada Lovelace"
    error_message = "Display names are given name and family name."
  }

  assert {
    condition     = identity_idp.sso.name == "platform-sso"
    error_message = "The idp is named after the team."
  }

  assert {
    condition     = identity_idp_mappers.sso.idp == "mock-alias"
    error_message = "The mappers belong to the team's idp."
  }
}

run "bad_names_are_refused" {
  command = plan

  variables {
    name = "Platform Team"
  }

  expect_failures = [var.name]
}
