# Every vendor block is optional: configure only the APIs your resources use. Each field
# also falls back to an environment variable (IDENTITY_RUNAI_URL, IDENTITY_RUNAI_TOKEN,
# IDENTITY_FUDO_URL, IDENTITY_FUDO_API_KEY, IDENTITY_SCIM_URL, IDENTITY_SCIM_CLIENT_ID,
# IDENTITY_SCIM_CLIENT_SECRET, IDENTITY_LANDSCAPE_URL, IDENTITY_LANDSCAPE_TOKEN, ...).

terraform {
  required_providers {
    identity = {
      source = "idfabric/identity"
    }
  }
}

variable "runai_token" {
  type      = string
  sensitive = true
}

variable "fudo_api_key" {
  type      = string
  sensitive = true
}

variable "fudo_ca_cert_pem" {
  description = "PEM of the CA that signed the Fudo appliance's certificate."
  type        = string
  default     = null
}

variable "scim_client_id" {
  type = string
}

variable "scim_client_secret" {
  type      = string
  sensitive = true
}

variable "landscape_token" {
  type      = string
  sensitive = true
}

provider "identity" {
  # Run:ai external identity providers (/api/v1/idps).
  runai = {
    url   = "https://mycompany.run.ai"
    token = var.runai_token
  }

  # Fudo PAM user OIDC assignments (/api/v2/user/oidc).
  fudo = {
    url                  = "https://fudo.example.com"
    api_key              = var.fudo_api_key
    ca_cert_pem          = var.fudo_ca_cert_pem
    insecure_skip_verify = false
  }

  # OCI IAM identity domain, SCIM 2.0 (/admin/v1). The token URL defaults to
  # <domain>/oauth2/v1/token.
  scim = {
    url           = "https://idcs-0123456789abcdef.identity.oraclecloud.com/admin/v1"
    client_id     = var.scim_client_id
    client_secret = var.scim_client_secret
    grant_type    = "client_credentials"
    scope         = "urn:opc:idm:__myscopes__"

    # In HCP Terraform, workload identity replaces the client secret: drop
    # client_secret and exchange the run's TFC_WORKLOAD_IDENTITY_TOKEN (RFC 7523):
    # workload_identity = {
    #   grant = "client_assertion" # or "jwt_bearer"
    #   tag   = "OCI"              # reads TFC_WORKLOAD_IDENTITY_TOKEN_OCI
    # }
  }

  # Canonical Landscape OIDC group imports (/api/v2/oidc/groups).
  landscape = {
    url   = "https://landscape.canonical.com"
    token = var.landscape_token
  }

  request_timeout = 30 # seconds per HTTP request
  max_retries     = 5  # retries of 429/5xx answers and dropped connections
}
