# The private files bucket. Browsers talk to it directly with presigned URLs made by the app, so it carries the
# CORS rules for the app origins, and its policy is what limits how old such a URL's signature may be.

resource "aws_s3_bucket" "this" {
  #checkov:skip=CKV_AWS_144:Cross-region replication is a disaster-recovery choice with its own region and cost.
  #checkov:skip=CKV_AWS_145:SSE-S3 is the default by design; set s3_sse_kms = true for SSE-KMS with the deployment key.
  #checkov:skip=CKV2_AWS_62:Uploads are recorded through the API's own confirm call; nothing consumes bucket events.
  bucket        = var.bucket_name
  bucket_prefix = var.bucket_name == null ? "${var.name}-files-" : null
  force_destroy = var.bucket_force_destroy
}

resource "aws_s3_bucket_public_access_block" "this" {
  bucket = aws_s3_bucket.this.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = var.s3_sse_kms ? "aws:kms" : "AES256"
      kms_master_key_id = var.s3_sse_kms ? aws_kms_key.this.arn : null
    }
    bucket_key_enabled = var.s3_sse_kms
  }
}

resource "aws_s3_bucket_versioning" "this" {
  bucket = aws_s3_bucket.this.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    id     = "abort-incomplete-multipart-uploads"
    status = "Enabled"

    filter {}

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  rule {
    id     = "expire-noncurrent-versions"
    status = "Enabled"

    filter {}

    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_expiration_days
    }

    expiration {
      expired_object_delete_marker = true
    }
  }

  depends_on = [aws_s3_bucket_versioning.this]
}

resource "aws_s3_bucket_cors_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  cors_rule {
    allowed_methods = ["GET", "PUT", "POST"]
    allowed_origins = var.cors_allowed_origins
    allowed_headers = ["*"]
    # Multipart completion reads each part's ETag; clients checking what S3 stored read these.
    expose_headers = [
      "ETag",
      "Location",
      "x-amz-version-id",
      "x-amz-checksum-sha256",
      "x-amz-checksum-crc32",
      "x-amz-checksum-crc32c",
      "x-amz-checksum-crc64nvme",
    ]
    max_age_seconds = 3000
  }
}

data "aws_iam_policy_document" "bucket" {
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.this.arn, "${aws_s3_bucket.this.arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }

  # A presigned URL stays valid until its own expiry or its signing credentials expire, whichever is first; this caps
  # it independently of what the app asked for. s3:signatureAge is in milliseconds.
  statement {
    sid       = "DenyStaleSignatures"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.this.arn, "${aws_s3_bucket.this.arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "NumericGreaterThan"
      variable = "s3:signatureAge"
      values   = [tostring(var.max_signature_age_ms)]
    }
  }

  statement {
    sid       = "DenySignatureVersion2"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.this.arn, "${aws_s3_bucket.this.arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "StringNotEquals"
      variable = "s3:signatureversion"
      values   = ["AWS4-HMAC-SHA256"]
    }
  }
}

resource "aws_s3_bucket_policy" "this" {
  bucket = aws_s3_bucket.this.id
  policy = data.aws_iam_policy_document.bucket.json

  # A bucket policy cannot be attached while Block Public Access is still being set up.
  depends_on = [aws_s3_bucket_public_access_block.this]
}
