"""Create stowage's IAM-authenticated database user with the RDS-managed master secret.

Runs as root on each instance's first boot; running it again changes nothing. Afterwards
the app only ever logs in as that user with an IAM token, never with the master password.
"""

import argparse
import contextlib
import json

import boto3
import psycopg
from psycopg import errors, sql

OPTIONS = (
    "--region",
    "--master-secret-arn",
    "--host",
    "--port",
    "--dbname",
    "--app-user",
    "--ca-bundle",
)


def main() -> None:
    """Create the app user if missing; grant it IAM login and the privileges it needs."""
    parser = argparse.ArgumentParser(description=__doc__)
    for option in OPTIONS:
        parser.add_argument(option, required=True)
    args = parser.parse_args()

    secrets = boto3.client("secretsmanager", region_name=args.region)
    master = json.loads(secrets.get_secret_value(SecretId=args.master_secret_arn)["SecretString"])
    app_user = sql.Identifier(args.app_user)

    with psycopg.connect(
        host=args.host,
        port=int(args.port),
        dbname=args.dbname,
        user=master["username"],
        password=master["password"],
        sslmode="verify-full",
        sslrootcert=args.ca_bundle,
        connect_timeout=10,
        autocommit=True,
    ) as conn:
        # Created already by an earlier boot, or by another instance booting at the same time.
        with contextlib.suppress(errors.DuplicateObject):
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(app_user))
        conn.execute(sql.SQL("GRANT rds_iam TO {}").format(app_user))
        conn.execute(
            sql.SQL("GRANT CONNECT, TEMPORARY ON DATABASE {} TO {}").format(
                sql.Identifier(args.dbname), app_user
            )
        )
        # Since PostgreSQL 15 not every user may create in the public schema; migrations must.
        conn.execute(sql.SQL("GRANT USAGE, CREATE ON SCHEMA public TO {}").format(app_user))


if __name__ == "__main__":
    main()
