# ---------------------------------------------------------------------------------------------------------------------
# Deployment
# ---------------------------------------------------------------------------------------------------------------------

variable "name" {
  type        = string
  description = "Name of this deployment; prefixes every resource name (e.g. \"stowage-prod\"). 3-22 characters: the longest derived name, the RDS monitoring role's name_prefix \"<name>-rds-monitoring-\", may have 38."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,20}[a-z0-9]$", var.name))
    error_message = "name must be 3-22 characters of lower-case letters, digits and hyphens, starting with a letter and not ending with a hyphen."
  }

  # RDS refuses "--" in instance identifiers and parameter group names; S3 reserves "xn--" and "--...-s3" forms.
  validation {
    condition     = !strcontains(var.name, "--")
    error_message = "name must not contain two hyphens in a row (RDS refuses them)."
  }

  # Bucket names starting with these are reserved by S3; the files and logs buckets start with the name.
  validation {
    condition     = !startswith(var.name, "sthree-") && !startswith(var.name, "amzn-s3-demo-")
    error_message = "name must not start with sthree- or amzn-s3-demo-: S3 reserves those bucket name prefixes."
  }
}

variable "region" {
  type        = string
  description = "AWS region to deploy into (e.g. \"eu-central-1\")."

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.region))
    error_message = "region must look like an AWS region name, e.g. eu-central-1."
  }
}

variable "tags" {
  type        = map(string)
  description = "Extra tags applied to every resource through the provider's default tags."
  default     = {}
}

# ---------------------------------------------------------------------------------------------------------------------
# Network
# ---------------------------------------------------------------------------------------------------------------------

variable "vpc_cidr" {
  type        = string
  description = "CIDR block of the VPC; public and private /24s (for a /16) are carved out of it per availability zone."
  default     = "10.20.0.0/16"

  validation {
    condition     = can(cidrhost(var.vpc_cidr, 0)) && tonumber(split("/", var.vpc_cidr)[1]) <= 20
    error_message = "vpc_cidr must be a valid IPv4 CIDR block of /20 or larger."
  }
}

variable "availability_zones" {
  type        = list(string)
  description = "The two availability zones to use (e.g. [\"eu-central-1a\", \"eu-central-1b\"]). Null takes the first two, by name, of the region's standard availability zones (no Local or Wavelength Zones)."
  default     = null

  validation {
    condition     = var.availability_zones == null || try(length(var.availability_zones) == 2, false)
    error_message = "availability_zones must name exactly two zones."
  }
}

variable "lb_ingress_cidrs" {
  type        = list(string)
  description = "CIDR blocks allowed to reach the load balancer on ports 80 (redirect) and 443."
  default     = ["0.0.0.0/0"]

  validation {
    condition     = alltrue([for cidr in var.lb_ingress_cidrs : can(cidrhost(cidr, 0))])
    error_message = "lb_ingress_cidrs must contain valid CIDR blocks."
  }
}

variable "instance_ingress_cidrs" {
  type        = list(string)
  description = "CIDR blocks allowed to reach the single instance directly on app_port (plain HTTP). Used only with allow_plain_http = true. The open internet is refused: publish through the load balancer for that."
  default     = []

  validation {
    condition = alltrue([
      for cidr in var.instance_ingress_cidrs : can(cidrhost(cidr, 0)) && tonumber(split("/", cidr)[1]) >= 8
    ])
    error_message = "instance_ingress_cidrs must contain valid CIDR blocks no wider than /8 (the open internet, or most of it, is refused)."
  }
}

variable "alarm_actions" {
  type        = list(string)
  description = "ARNs (usually SNS topics) the CloudWatch alarms notify when they fire and when they recover. Empty: the alarms only show their state."
  default     = []
}

variable "alarm_5xx_per_5_minutes" {
  type        = number
  description = "Server errors (5xx) in 5 minutes above which the API and load balancer error alarms fire."
  default     = 10

  validation {
    condition     = var.alarm_5xx_per_5_minutes >= 0
    error_message = "alarm_5xx_per_5_minutes must not be negative."
  }
}

variable "app_egress_cidrs" {
  type        = list(string)
  description = "CIDR blocks the instances may reach on port 443 besides S3, the database and the interface endpoints: during first boot PyPI (or your package mirror), the git host and the RDS CA bundle; at run time the identity provider's keys (OIDC) and, without vpc_interface_endpoints, SSM, Secrets Manager and CloudWatch Logs. Narrow it to a package mirror or HTTPS proxy you run, if you have one."
  default     = ["0.0.0.0/0"]

  validation {
    condition     = length(var.app_egress_cidrs) > 0 && alltrue([for cidr in var.app_egress_cidrs : can(cidrhost(cidr, 0))])
    error_message = "app_egress_cidrs must contain at least one valid CIDR block: first boot needs the package index and the RDS CA bundle."
  }
}

variable "vpc_interface_endpoints" {
  type        = bool
  description = "Reach SSM (Session Manager), Secrets Manager (the database bootstrap) and CloudWatch Logs (the app's logs) through VPC interface endpoints in the private subnets instead of the internet, so app_egress_cidrs can be narrowed. About $7 per endpoint and zone a month (5 endpoints, 2 zones)."
  default     = false
}

variable "ssh_ingress_cidr" {
  type        = string
  description = "Opt-in: one CIDR block allowed to SSH (port 22) to the instances. Null (the default) opens no SSH; use SSM Session Manager instead."
  default     = null

  validation {
    condition     = var.ssh_ingress_cidr == null || (can(cidrhost(var.ssh_ingress_cidr, 0)) && !contains(["0.0.0.0/0", "::/0"], coalesce(var.ssh_ingress_cidr, "-")))
    error_message = "ssh_ingress_cidr must be null or one valid CIDR block other than 0.0.0.0/0 or ::/0."
  }
}

variable "ssh_key_name" {
  type        = string
  description = "Opt-in: name of an existing EC2 key pair for SSH. Only useful together with ssh_ingress_cidr."
  default     = null
}

# ---------------------------------------------------------------------------------------------------------------------
# Compute
# ---------------------------------------------------------------------------------------------------------------------

variable "load_balanced" {
  type        = bool
  description = "false: one instance in a public subnet behind an HTTPS Application Load Balancer (or, with allow_plain_http, serving plain HTTP to instance_ingress_cidrs). true: an Auto Scaling Group in private subnets behind the load balancer (adds a NAT gateway)."
  default     = false
}

variable "allow_plain_http" {
  type        = bool
  description = "Opt-out of TLS for the single instance: no load balancer, the instance serves plain HTTP on app_port to instance_ingress_cidrs only, and API keys and tokens cross that network in clear. Only for a trusted network (VPN, peered VPC) or a trial."
  default     = false

  validation {
    condition     = !(var.allow_plain_http && var.load_balanced)
    error_message = "allow_plain_http applies to the single instance only; the load-balanced shape always serves HTTPS."
  }
}

variable "certificate_arn" {
  type        = string
  description = "ARN of an issued ACM certificate for api_domain_name, in the deployment's region, for the load balancer's HTTPS listener. Required unless allow_plain_http = true."
  default     = null

  validation {
    condition     = var.allow_plain_http || var.certificate_arn != null
    error_message = "certificate_arn is required: an ACM certificate for the API's domain name (or set allow_plain_http = true for a single instance on a trusted network)."
  }

  validation {
    condition     = var.certificate_arn == null || can(regex("^arn:[a-z-]+:acm:", coalesce(var.certificate_arn, "-")))
    error_message = "certificate_arn must be an ACM certificate ARN."
  }
}

variable "api_domain_name" {
  type        = string
  description = "Domain name the API is published under (a DNS record you point at the load balancer); used for the api_url output. Null uses the load balancer's DNS name."
  default     = null
}

variable "instance_type" {
  type        = string
  description = "EC2 instance type of the API instances; must match instance_architecture."
  default     = "t4g.small"
}

variable "instance_architecture" {
  type        = string
  description = "CPU architecture of the Amazon Linux 2023 AMI: \"arm64\" (Graviton) or \"x86_64\"."
  default     = "arm64"

  validation {
    condition     = contains(["arm64", "x86_64"], var.instance_architecture)
    error_message = "instance_architecture must be arm64 or x86_64."
  }
}

variable "root_volume_size_gb" {
  type        = number
  description = "Size of each instance's encrypted gp3 root volume in GiB."
  default     = 20

  validation {
    condition     = var.root_volume_size_gb >= 8 && var.root_volume_size_gb <= 1024
    error_message = "root_volume_size_gb must be between 8 and 1024."
  }
}

variable "asg_min_size" {
  type        = number
  description = "Minimum number of instances in the Auto Scaling Group (load_balanced = true)."
  default     = 2

  validation {
    condition     = var.asg_min_size >= 1
    error_message = "asg_min_size must be at least 1."
  }
}

variable "asg_max_size" {
  type        = number
  description = "Maximum number of instances in the Auto Scaling Group (load_balanced = true)."
  default     = 4

  validation {
    condition     = var.asg_max_size >= var.asg_min_size
    error_message = "asg_max_size must be at least asg_min_size."
  }
}

variable "asg_cpu_target_percent" {
  type        = number
  description = "Average CPU utilisation the Auto Scaling Group's target tracking policy keeps the instances at."
  default     = 60

  validation {
    condition     = var.asg_cpu_target_percent > 0 && var.asg_cpu_target_percent < 100
    error_message = "asg_cpu_target_percent must be between 0 and 100."
  }
}

# ---------------------------------------------------------------------------------------------------------------------
# Application
# ---------------------------------------------------------------------------------------------------------------------

variable "app_release_url" {
  type        = string
  description = "HTTPS URL of a stowage release artefact (wheel or sdist) to pip install. Takes precedence over app_git_ref."
  default     = null

  validation {
    condition     = var.app_release_url == null || can(regex("^https://[^\\s'\"#]+$", coalesce(var.app_release_url, "-")))
    error_message = "app_release_url must be an https:// URL without quotes, spaces or fragment."
  }
}

variable "app_release_sha256" {
  type        = string
  description = "SHA-256 of the release artefact; pip refuses the download if it differs. Required with app_release_url."
  default     = null

  validation {
    condition     = var.app_release_sha256 == null || can(regex("^[0-9a-f]{64}$", coalesce(var.app_release_sha256, "-")))
    error_message = "app_release_sha256 must be 64 lower-case hex digits."
  }

  validation {
    condition     = var.app_release_url == null || var.app_release_sha256 != null
    error_message = "app_release_sha256 is required with app_release_url: every file an instance installs is checked against a hash."
  }
}

variable "app_git_repository" {
  type        = string
  description = "HTTPS URL of the stowage git repository, installed at app_git_ref when app_release_url is null."
  default     = null

  validation {
    condition     = var.app_git_repository == null || can(regex("^https://[^\\s'\"#@]+$", coalesce(var.app_git_repository, "-")))
    error_message = "app_git_repository must be an https:// URL without credentials, quotes, spaces or fragment."
  }

  validation {
    condition     = var.app_release_url != null || var.app_git_repository != null
    error_message = "Set app_release_url, or app_git_repository and app_git_ref, to say which stowage to install."
  }
}

variable "app_git_ref" {
  type        = string
  description = "Git tag, branch or commit of app_git_repository to install. Prefer a tag or commit for reproducible instances."
  default     = "main"

  validation {
    condition     = can(regex("^[A-Za-z0-9._/-]+$", var.app_git_ref))
    error_message = "app_git_ref may only contain letters, digits, '.', '_', '/' and '-'."
  }
}

variable "pip_index_url" {
  type        = string
  description = "Package index the first boot installs the locked dependencies from, e.g. a mirror inside the VPC. Null uses PyPI. Every file is still checked against the lock's hashes."
  default     = null

  validation {
    condition     = var.pip_index_url == null || can(regex("^https://[^\\s'\"#]+$", coalesce(var.pip_index_url, "-")))
    error_message = "pip_index_url must be an https:// URL without quotes, spaces or fragment."
  }
}

variable "app_port" {
  type        = number
  description = "TCP port uvicorn listens on inside the instance."
  default     = 8000

  validation {
    condition     = var.app_port >= 1024 && var.app_port <= 65535
    error_message = "app_port must be an unprivileged port (1024-65535): the service runs as a non-root user."
  }
}

variable "web_concurrency" {
  type        = number
  description = "Number of uvicorn worker processes per instance (WEB_CONCURRENCY)."
  default     = 2

  validation {
    condition     = var.web_concurrency >= 1 && var.web_concurrency <= 64
    error_message = "web_concurrency must be between 1 and 64."
  }
}

variable "sweep_interval_seconds" {
  type        = number
  description = "How often each instance sweeps in the background (SWEEP_INTERVAL_SECONDS): decides expired uploads, finishes interrupted deletes, prunes extra object versions, deletes objects without a file. 0 turns it off."
  default     = 300

  validation {
    condition     = var.sweep_interval_seconds == 0 || (var.sweep_interval_seconds >= 60 && var.sweep_interval_seconds <= 86400 && floor(var.sweep_interval_seconds) == var.sweep_interval_seconds)
    error_message = "sweep_interval_seconds must be 0 (off) or a whole number of seconds from 60 to 86400."
  }
}

variable "s3_key_prefix" {
  type        = string
  description = "Key prefix under which the app stores objects (S3_KEY_PREFIX); the app role can only touch keys under it."
  default     = "uploads/"

  validation {
    condition     = can(regex("^[A-Za-z0-9!_.()-]+(/[A-Za-z0-9!_.()-]+)*/$", var.s3_key_prefix))
    error_message = "s3_key_prefix must be non-empty, end with '/', and contain no wildcards or spaces."
  }

  validation {
    condition     = !startswith(var.s3_key_prefix, "deploy/")
    error_message = "s3_key_prefix must not start with deploy/: the deployment keeps the instances' dependency lock there."
  }
}

variable "upload_url_ttl_seconds" {
  type        = number
  description = "Lifetime of presigned upload URLs (UPLOAD_URL_TTL_SECONDS). Must stay well under the hour instance-role credentials live."
  default     = 600

  validation {
    condition     = var.upload_url_ttl_seconds >= 60 && var.upload_url_ttl_seconds <= 3600
    error_message = "upload_url_ttl_seconds must be between 60 and 3600."
  }
}

variable "download_url_ttl_seconds" {
  type        = number
  description = "Lifetime of presigned download URLs (DOWNLOAD_URL_TTL_SECONDS). Must stay well under the hour instance-role credentials live."
  default     = 300

  validation {
    condition     = var.download_url_ttl_seconds >= 60 && var.download_url_ttl_seconds <= 3600
    error_message = "download_url_ttl_seconds must be between 60 and 3600."
  }
}

variable "max_signature_age_ms" {
  type        = number
  description = "Bucket policy cap on s3:signatureAge in milliseconds: older signatures (stale presigned URLs) are denied. Must be at least both URL TTLs."
  default     = 900000

  validation {
    condition     = var.max_signature_age_ms >= 1000 * max(var.upload_url_ttl_seconds, var.download_url_ttl_seconds)
    error_message = "max_signature_age_ms must be at least 1000 x the longer of upload_url_ttl_seconds and download_url_ttl_seconds, or valid URLs would be refused."
  }

  validation {
    condition     = var.max_signature_age_ms <= 3600000
    error_message = "max_signature_age_ms must be at most 3600000 (one hour, the life of instance-role credentials)."
  }
}

variable "max_upload_bytes" {
  type        = number
  description = "Largest upload the app accepts, multipart included, in bytes (MAX_UPLOAD_BYTES). Null leaves the app's default (5 TiB)."
  default     = null

  validation {
    condition     = var.max_upload_bytes == null || (coalesce(var.max_upload_bytes, 1) >= 1 && coalesce(var.max_upload_bytes, 1) <= 5497558138880)
    error_message = "max_upload_bytes must be between 1 byte and 5 TiB, the largest object S3 stores."
  }
}

variable "allowed_content_types" {
  type        = list(string)
  description = "MIME types the app accepts for uploads (ALLOWED_CONTENT_TYPES, written comma-separated). Empty leaves the app's default."
  default     = []

  validation {
    condition     = alltrue([for t in var.allowed_content_types : can(regex("^[a-z0-9.+-]+/[a-zA-Z0-9.+*-]+$", t))])
    error_message = "allowed_content_types must be MIME types such as image/png."
  }
}

variable "app_environment" {
  type        = map(string)
  description = "Extra, non-secret environment variables written into the app's environment file."
  default     = {}

  validation {
    condition     = alltrue([for k in keys(var.app_environment) : can(regex("^[A-Z][A-Z0-9_]*$", k))])
    error_message = "app_environment keys must be upper-case environment variable names."
  }

  # One line per variable in a systemd environment file: a newline would smuggle in another.
  validation {
    condition     = alltrue([for v in values(var.app_environment) : !can(regex("[\\r\\n]", v))])
    error_message = "app_environment values must not contain line breaks."
  }

  # The deployment owns how the app reaches its database and bucket, and metrics (whose token is a secret and must not
  # land in the app_environment output).
  validation {
    condition = length(setintersection(keys(var.app_environment), [
      "DATABASE_URL", "DATABASE_IAM_AUTH", "DATABASE_PASSWORD_SECRET_ARN", "S3_BUCKET", "S3_ENDPOINT_URL", "AWS_REGION",
      "WEB_CONCURRENCY", "WORKER_THREADS", "DATABASE_POOL_SIZE", "S3_MAX_CONCURRENT_CALLS",
      "METRICS_ENABLED", "METRICS_TOKEN",
    ])) == 0
    error_message = "app_environment must not override how the app reaches its database and bucket (DATABASE_URL, DATABASE_IAM_AUTH, DATABASE_PASSWORD_SECRET_ARN, S3_BUCKET, S3_ENDPOINT_URL, AWS_REGION), the connection budget (WEB_CONCURRENCY, WORKER_THREADS, DATABASE_POOL_SIZE, S3_MAX_CONCURRENT_CALLS) or metrics (METRICS_ENABLED, METRICS_TOKEN: set metrics_token)."
  }
}

variable "metrics_token" {
  type        = string
  description = "Turns on the app's Prometheus metrics (METRICS_ENABLED) at /metrics, answered only to requests with Authorization: Bearer <this token>. 16 characters or more; null (the default) leaves metrics off. The load balancer never forwards /metrics; scrape the instances from inside the VPC."
  default     = null
  sensitive   = true

  validation {
    condition     = var.metrics_token == null || length(coalesce(var.metrics_token, "x")) >= 16
    error_message = "metrics_token must be at least 16 characters."
  }

  # One line in a systemd environment file, and an HTTP header value: no whitespace.
  validation {
    condition     = var.metrics_token == null || !can(regex("\\s", coalesce(var.metrics_token, "x")))
    error_message = "metrics_token must not contain whitespace."
  }
}

# ---------------------------------------------------------------------------------------------------------------------
# Storage
# ---------------------------------------------------------------------------------------------------------------------

variable "bucket_name" {
  type        = string
  description = "Name of the files bucket. Null lets Terraform generate a unique \"<name>-files-...\" name."
  default     = null

  validation {
    condition     = var.bucket_name == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", coalesce(var.bucket_name, "-")))
    error_message = "bucket_name must be a valid S3 bucket name."
  }
}

variable "cors_allowed_origins" {
  type        = list(string)
  description = "Browser origins (scheme://host[:port]) of the web apps that call the API and upload and download directly against the bucket; feeds both the bucket's CORS rule and the app's CORS_ALLOW_ORIGINS."

  validation {
    condition = length(var.cors_allowed_origins) > 0 && alltrue([
      for origin in var.cors_allowed_origins : can(regex("^https?://[A-Za-z0-9.-]+(:[0-9]+)?$", origin))
    ])
    error_message = "cors_allowed_origins must list at least one origin like https://app.example.com, without paths or wildcards."
  }
}

variable "s3_sse_kms" {
  type        = bool
  description = "Encrypt objects with SSE-KMS under this deployment's KMS key (with an S3 bucket key) instead of SSE-S3."
  default     = false
}

variable "noncurrent_version_expiration_days" {
  type        = number
  description = "Days after which noncurrent (overwritten or deleted) object versions are removed."
  default     = 30

  validation {
    condition     = var.noncurrent_version_expiration_days >= 1
    error_message = "noncurrent_version_expiration_days must be at least 1."
  }
}

variable "bucket_force_destroy" {
  type        = bool
  description = "Let terraform destroy delete the files and log buckets while they hold objects, every version included. Keep false outside throwaway environments."
  default     = false
}

# ---------------------------------------------------------------------------------------------------------------------
# Database
# ---------------------------------------------------------------------------------------------------------------------

variable "db_engine_version" {
  type        = string
  description = "PostgreSQL engine version for RDS: a major (\"17\") or major.minor (\"17.4\"); 16 or newer."
  default     = "17"

  validation {
    condition     = can(regex("^[0-9]+(\\.[0-9]+)?$", var.db_engine_version)) && tonumber(split(".", var.db_engine_version)[0]) >= 16
    error_message = "db_engine_version must be PostgreSQL 16 or newer, written as a major or major.minor version."
  }
}

variable "db_instance_class" {
  type        = string
  description = "RDS instance class."
  default     = "db.t4g.micro"

  validation {
    condition     = startswith(var.db_instance_class, "db.")
    error_message = "db_instance_class must be an RDS instance class such as db.t4g.micro."
  }
}

variable "db_allocated_storage_gb" {
  type        = number
  description = "Initial gp3 storage of the database in GiB."
  default     = 20

  validation {
    condition     = var.db_allocated_storage_gb >= 20
    error_message = "db_allocated_storage_gb must be at least 20."
  }
}

variable "db_max_allocated_storage_gb" {
  type        = number
  description = "Upper bound for storage autoscaling in GiB."
  default     = 100

  validation {
    condition     = var.db_max_allocated_storage_gb >= var.db_allocated_storage_gb
    error_message = "db_max_allocated_storage_gb must be at least db_allocated_storage_gb."
  }
}

variable "db_multi_az" {
  type        = bool
  description = "Run the database Multi-AZ (a synchronous standby in the second zone; doubles its cost)."
  default     = true
}

variable "db_name" {
  type        = string
  description = "Name of the application database."
  default     = "stowage"

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,62}$", var.db_name))
    error_message = "db_name must be a lower-case PostgreSQL identifier."
  }
}

variable "db_master_username" {
  type        = string
  description = "Master user of the database; its password is generated and kept in Secrets Manager by RDS."
  default     = "stowage_admin"

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,62}$", var.db_master_username)) && !contains(["admin", "rdsadmin", "postgres"], var.db_master_username)
    error_message = "db_master_username must be a lower-case PostgreSQL identifier and not a reserved name."
  }
}

variable "db_app_username" {
  type        = string
  description = "Database user the app connects as with IAM authentication (no password); created on first boot."
  default     = "stowage_app"

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,62}$", var.db_app_username))
    error_message = "db_app_username must be a lower-case PostgreSQL identifier."
  }

  validation {
    condition     = var.db_app_username != var.db_master_username
    error_message = "db_app_username must differ from db_master_username: the app never uses the master user."
  }
}

variable "db_max_connections" {
  type        = number
  description = "max_connections of the database (set in its parameter group). The app's threads and pools are sized from it so that every worker process of asg_max_size instances fits; raise it with a larger db_instance_class (RDS's own default is about memory / 9.5 MB, 100 suits db.t4g.micro)."
  default     = 100

  validation {
    condition     = var.db_max_connections >= 25 && var.db_max_connections <= 5000
    error_message = "db_max_connections must be between 25 and 5000."
  }

  # 15 are kept for RDS's superusers, migrations, the bootstrap and operators; each process needs 2 or more.
  validation {
    condition     = floor((var.db_max_connections - 15) / ((var.load_balanced ? var.asg_max_size : 1) * var.web_concurrency)) >= 2
    error_message = "db_max_connections leaves fewer than 2 connections per worker process (db_max_connections - 15 over asg_max_size x web_concurrency): raise db_max_connections (with a larger db_instance_class) or lower asg_max_size or web_concurrency."
  }
}

variable "db_bootstrap_window_minutes" {
  type        = number
  description = "For how many minutes after the database is created the instances may read its master secret, to create the app's database user. Afterwards only the operator can read it."
  default     = 180

  validation {
    condition     = var.db_bootstrap_window_minutes >= 15 && var.db_bootstrap_window_minutes <= 1440
    error_message = "db_bootstrap_window_minutes must be between 15 and 1440 (one day)."
  }
}

variable "db_backup_retention_days" {
  type        = number
  description = "Days of automated backups (point-in-time recovery window)."
  default     = 7

  validation {
    condition     = var.db_backup_retention_days >= 7 && var.db_backup_retention_days <= 35
    error_message = "db_backup_retention_days must be between 7 and 35."
  }
}

variable "db_deletion_protection" {
  type        = bool
  description = "Refuse to delete the database (and the load balancer) until this is set to false and applied."
  default     = true
}

variable "db_skip_final_snapshot" {
  type        = bool
  description = "Skip the final snapshot when the database is destroyed. Keep false outside throwaway environments."
  default     = false
}

variable "db_slow_query_ms" {
  type        = number
  description = "Statements slower than this many milliseconds are logged (log_min_duration_statement)."
  default     = 1000

  validation {
    condition     = var.db_slow_query_ms >= 0
    error_message = "db_slow_query_ms must not be negative."
  }
}

# ---------------------------------------------------------------------------------------------------------------------
# Logs and alarms
# ---------------------------------------------------------------------------------------------------------------------

variable "cloudtrail_data_events" {
  type        = bool
  description = "Record every object read, write and delete in the files bucket (CloudTrail data events) into the log bucket. Costs $0.10 per 100,000 events."
  default     = true
}

variable "log_retention_days" {
  type        = number
  description = "Retention of the CloudWatch log groups (the app's logs, VPC flow logs, PostgreSQL logs) and of the log bucket's objects (access logs, CloudTrail), in days."
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of the retention periods CloudWatch Logs accepts."
  }
}
