# First boot of every API instance (cloud-init writes the files; systemd does the rest): stowage-install.service
# installs stowage into a virtualenv from the hashed dependency lock and the release artefact or git ref, creates the
# IAM-authenticated database user once, and starts the API; it is retried every 30 s until it succeeds. The
# cloud-config is generated with yamlencode so that no file content can break its indentation.

locals {
  app_environment_file = join("", [
    for key, value in merge(local.app_environment, local.app_metrics_environment) : "${key}=${value}\n"
  ])

  # The lock is too large for user data (16 KiB), so it travels through the files bucket, addressed by its hash.
  requirements_lock_path   = "${path.module}/requirements.lock"
  requirements_lock_sha256 = filesha256(local.requirements_lock_path)
  deploy_key_prefix        = "deploy/"

  cloudwatch_agent_config_path = "/etc/stowage/cloudwatch-agent.json"

  install_script = templatefile("${path.module}/templates/install.sh.tftpl", {
    packages                     = join(" ", concat(["python3.11", "python3.11-pip", "amazon-cloudwatch-agent", "logrotate"], var.app_release_url == null ? ["git"] : []))
    requirements_lock_s3_uri     = "s3://${aws_s3_bucket.this.bucket}/${aws_s3_object.requirements_lock.key}"
    requirements_lock_sha256     = local.requirements_lock_sha256
    app_pip_requirement          = local.app_pip_requirement
    pip_index_option             = var.pip_index_url != null ? "--index-url '${var.pip_index_url}'" : ""
    rds_ca_bundle_url            = "https://truststore.pki.rds.amazonaws.com/${var.region}/${var.region}-bundle.pem"
    rds_ca_bundle_path           = local.rds_ca_bundle_path
    region                       = var.region
    db_host                      = aws_db_instance.this.address
    db_port                      = aws_db_instance.this.port
    db_name                      = var.db_name
    db_app_username              = var.db_app_username
    db_master_secret             = aws_db_instance.this.master_user_secret[0].secret_arn
    cloudwatch_agent_config_path = local.cloudwatch_agent_config_path
  })

  units = ["stowage-install.service", "stowage.service", "stowage-liveness.service", "stowage-liveness.timer"]

  cloud_config = {
    write_files = concat(
      [
        {
          path        = "/etc/stowage/stowage.env"
          permissions = "0640"
          content     = local.app_environment_file
        },
        {
          path        = "/opt/stowage/bootstrap_db.py"
          permissions = "0644"
          content     = file("${path.module}/templates/bootstrap_db.py")
        },
        {
          path        = local.cloudwatch_agent_config_path
          permissions = "0644"
          content     = local.cloudwatch_agent_config
        },
        {
          path        = "/etc/logrotate.d/stowage"
          permissions = "0644"
          content     = file("${path.module}/templates/logrotate-stowage")
        },
        {
          path        = "/usr/local/sbin/stowage-install"
          permissions = "0755"
          content     = local.install_script
        },
      ],
      [
        for unit in local.units : {
          path        = "/etc/systemd/system/${unit}"
          permissions = "0644"
          content     = file("${path.module}/templates/${unit}")
        }
      ],
    )
    # --no-block: cloud-init does not wait for the install, which retries on its own until it succeeds.
    runcmd = [
      ["systemctl", "daemon-reload"],
      ["systemctl", "enable", "--now", "--no-block", "stowage-install.service"],
    ]
  }

  user_data = "#cloud-config\n${yamlencode(local.cloud_config)}"
}

resource "aws_s3_object" "requirements_lock" {
  bucket       = aws_s3_bucket.this.id
  key          = "${local.deploy_key_prefix}requirements-${local.requirements_lock_sha256}.lock"
  source       = local.requirements_lock_path
  content_type = "text/plain"
  source_hash  = local.requirements_lock_sha256
}
