data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

# Standard availability zones only: opted-in Local Zones (<region>-lax-1a) sort before <region>a and would take the
# subnets, the NAT gateway and the database standby. No state filter, so a zone that is briefly impaired at plan time
# does not shift the slice and replace the subnets.
data "aws_availability_zones" "available" {
  count = var.availability_zones == null ? 1 : 0

  filter {
    name   = "zone-type"
    values = ["availability-zone"]
  }

  filter {
    name   = "opt-in-status"
    values = ["opt-in-not-required"]
  }
}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  azs        = var.availability_zones != null ? var.availability_zones : slice(sort(data.aws_availability_zones.available[0].names), 0, 2)

  # What pip installs: a pinned release artefact when given, otherwise the git ref.
  app_pip_requirement = (
    var.app_release_url != null
    ? "stowage @ ${var.app_release_url}${var.app_release_sha256 != null ? "#sha256=${var.app_release_sha256}" : ""}"
    : "stowage @ git+${var.app_git_repository}@${var.app_git_ref}"
  )

  rds_ca_bundle_path = "/opt/stowage/rds-ca-bundle.pem"

  # The app's environment: IAM database authentication, so no password and no AWS keys anywhere.
  app_environment = merge(
    {
      DATABASE_URL             = "postgresql://${var.db_app_username}@${aws_db_instance.this.address}:${aws_db_instance.this.port}/${var.db_name}?sslmode=verify-full&sslrootcert=${local.rds_ca_bundle_path}"
      DATABASE_IAM_AUTH        = "true"
      S3_BUCKET                = aws_s3_bucket.this.bucket
      S3_KEY_PREFIX            = var.s3_key_prefix
      AWS_REGION               = var.region
      UPLOAD_URL_TTL_SECONDS   = tostring(var.upload_url_ttl_seconds)
      DOWNLOAD_URL_TTL_SECONDS = tostring(var.download_url_ttl_seconds)
      HOST                     = "0.0.0.0"
      PORT                     = tostring(var.app_port)
      WEB_CONCURRENCY          = tostring(var.web_concurrency)
      WORKER_THREADS           = tostring(local.worker_threads)
      DATABASE_POOL_SIZE       = tostring(local.db_pool_size)
      S3_MAX_CONCURRENT_CALLS  = tostring(local.s3_max_concurrent_calls)
      # Every instance sweeps; row locks keep them from doing the same work twice.
      SWEEP_INTERVAL_SECONDS = tostring(var.sweep_interval_seconds)
      # The same origins the bucket's CORS rule allows: one list for both sides.
      CORS_ALLOW_ORIGINS = join(",", var.cors_allowed_origins)
    },
    var.max_upload_bytes != null ? { MAX_UPLOAD_BYTES = tostring(var.max_upload_bytes) } : {},
    length(var.allowed_content_types) > 0 ? { ALLOWED_CONTENT_TYPES = join(",", var.allowed_content_types) } : {},
    var.app_environment,
  )

  # Metrics are on exactly when a token protects them. The token is a secret: it stays out of app_environment (and its
  # output) and joins only the environment file.
  metrics_enabled = nonsensitive(var.metrics_token != null)
  app_metrics_environment = local.metrics_enabled ? {
    METRICS_ENABLED = "true"
    METRICS_TOKEN   = var.metrics_token
  } : {}
}
