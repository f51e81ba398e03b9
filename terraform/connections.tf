# How many database connections the app may open, from the most instances and worker processes there can be, so that
# together they stay within the database's max_connections (set from db_max_connections in database.tf).
#
# Each process's engine opens at most max(2 x DATABASE_POOL_SIZE, WORKER_THREADS) connections (backend/db/engine.py:
# the pool plus an overflow up to the worker threads); with the pool at half the threads that is WORKER_THREADS.

locals {
  # RDS keeps 3 for its superusers; the rest covers migrations (2 per migrating instance), the bootstrap and operators.
  db_reserved_connections = 15
  # Instance refreshes and replacements never run more than asg_max_size instances (no surge above the maximum).
  app_instances_max = var.load_balanced ? var.asg_max_size : 1

  db_connections_per_process = floor((var.db_max_connections - local.db_reserved_connections) / (local.app_instances_max * var.web_concurrency))

  # 40 is the app's own default; more threads per process buy nothing for an API that waits on PostgreSQL and S3.
  worker_threads = min(40, local.db_connections_per_process)
  db_pool_size   = max(1, floor(local.worker_threads / 2))
  # Must stay below WORKER_THREADS (the app refuses otherwise), so that database-only requests keep threads.
  s3_max_concurrent_calls = max(1, min(16, floor(local.worker_threads * 2 / 3)))

  db_app_connections_at_most = local.app_instances_max * var.web_concurrency * local.worker_threads
}
