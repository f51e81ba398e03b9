# The role the API instances run as. Its own policy is least privilege: the object actions the app uses under the key
# prefix, listing restricted to that prefix, IAM login as the app's database user, the boot's dependency lock, log
# streams in the app's log group and, only during the bootstrap window after the database is created, the master
# secret the first boot needs to create that user. Session Manager access comes from AWS's SSM core managed policy.

data "aws_iam_policy_document" "app_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "app" {
  name_prefix        = "${var.name}-app-"
  description        = "Stowage API instances of ${var.name}"
  assume_role_policy = data.aws_iam_policy_document.app_assume.json
}

resource "aws_iam_instance_profile" "app" {
  name_prefix = "${var.name}-app-"
  role        = aws_iam_role.app.name
}

data "aws_iam_policy_document" "app" {
  # Multipart uploads: CreateMultipartUpload, UploadPart (presigned) and CompleteMultipartUpload are s3:PutObject,
  # ListParts is s3:ListMultipartUploadParts, AbortMultipartUpload its own action. DeleteObjectVersion: the sweeper
  # and deletes remove exact versions of the versioned bucket.
  statement {
    sid = "ObjectsUnderKeyPrefix"
    actions = [
      "s3:PutObject",
      "s3:GetObject",
      "s3:GetObjectVersion",
      "s3:DeleteObject",
      "s3:DeleteObjectVersion",
      "s3:AbortMultipartUpload",
      "s3:ListMultipartUploadParts",
    ]
    resources = ["${aws_s3_bucket.this.arn}/${var.s3_key_prefix}*"]
  }

  # ListBucketVersions: deleting a file destroys every version a reused upload form left, and the sweeper walks them.
  # ListBucketMultipartUploads: listing unfinished multipart uploads under the prefix, to clean them up.
  statement {
    sid       = "ListOnlyKeyPrefix"
    actions   = ["s3:ListBucket", "s3:ListBucketMultipartUploads", "s3:ListBucketVersions"]
    resources = [aws_s3_bucket.this.arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${var.s3_key_prefix}*"]
    }
  }

  # Readiness refuses an unversioned bucket: downloads are pinned to the verified version.
  statement {
    sid       = "ReadBucketVersioning"
    actions   = ["s3:GetBucketVersioning"]
    resources = [aws_s3_bucket.this.arn]
  }

  statement {
    sid       = "ConnectAsAppDatabaseUser"
    actions   = ["rds-db:connect"]
    resources = [local.db_app_user_arn]
  }

  # First boot reads the RDS-managed master secret to create the IAM-authenticated app user; only in the window after
  # the database is created, so that code running on an instance later cannot become the database administrator.
  statement {
    sid       = "ReadDatabaseMasterSecretDuringBootstrap"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [aws_db_instance.this.master_user_secret[0].secret_arn]

    condition {
      test     = "DateLessThan"
      variable = "aws:CurrentTime"
      values   = [timeadd(terraform_data.db_bootstrap_window.output, "${var.db_bootstrap_window_minutes}m")]
    }
  }

  # The hashed dependency lock the first boot installs from (user_data.tf).
  statement {
    sid       = "ReadDeployArtifacts"
    actions   = ["s3:GetObject"]
    resources = ["${aws_s3_bucket.this.arn}/${local.deploy_key_prefix}*"]
  }

  # The CloudWatch agent ships the API's log file to the app's log group (app_logs.tf), one stream per instance. The
  # group itself, and its retention, belong to Terraform.
  statement {
    sid       = "WriteAppLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
    resources = [aws_cloudwatch_log_group.app.arn, "${aws_cloudwatch_log_group.app.arn}:*"]
  }

  dynamic "statement" {
    for_each = var.s3_sse_kms ? [1] : []

    content {
      sid       = "UseBucketKmsKey"
      actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
      resources = [aws_kms_key.this.arn]

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["s3.${var.region}.amazonaws.com"]
      }
    }
  }
}

resource "aws_iam_role_policy" "app" {
  name   = "stowage-app"
  role   = aws_iam_role.app.id
  policy = data.aws_iam_policy_document.app.json
}

resource "aws_iam_role_policy_attachment" "app_ssm" {
  role       = aws_iam_role.app.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/AmazonSSMManagedInstanceCore"
}
