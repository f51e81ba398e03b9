# First boot of every API instance (cloud-init): install stowage into a virtualenv from the release artefact or git
# ref, write its environment, create the IAM-authenticated database user once, then start the migrations unit and the
# API unit. The cloud-config is generated with yamlencode so that no file content can break its indentation.

locals {
  app_environment_file = join("", [for key, value in local.app_environment : "${key}=${value}\n"])

  install_script = templatefile("${path.module}/templates/install.sh.tftpl", {
    app_pip_requirement = local.app_pip_requirement
    rds_ca_bundle_url   = "https://truststore.pki.rds.amazonaws.com/${var.region}/${var.region}-bundle.pem"
    rds_ca_bundle_path  = local.rds_ca_bundle_path
    region              = var.region
    db_host             = aws_db_instance.this.address
    db_port             = aws_db_instance.this.port
    db_name             = var.db_name
    db_app_username     = var.db_app_username
    db_master_secret    = aws_db_instance.this.master_user_secret[0].secret_arn
  })

  cloud_config = {
    packages = concat(["python3.11", "python3.11-pip"], var.app_release_url == null ? ["git"] : [])
    write_files = [
      {
        path        = "/etc/stowage/stowage.env"
        permissions = "0640"
        content     = local.app_environment_file
      },
      {
        path        = "/etc/systemd/system/stowage-migrate.service"
        permissions = "0644"
        content     = file("${path.module}/templates/stowage-migrate.service")
      },
      {
        path        = "/etc/systemd/system/stowage.service"
        permissions = "0644"
        content     = file("${path.module}/templates/stowage.service")
      },
      {
        path        = "/opt/stowage/bootstrap_db.py"
        permissions = "0644"
        content     = file("${path.module}/templates/bootstrap_db.py")
      },
      {
        path        = "/usr/local/sbin/stowage-install"
        permissions = "0755"
        content     = local.install_script
      },
    ]
    runcmd = [["/usr/local/sbin/stowage-install"]]
  }

  user_data = "#cloud-config\n${yamlencode(local.cloud_config)}"
}
