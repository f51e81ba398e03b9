"""Create stowage's IAM-authenticated database user, once per database.

Runs as root on each instance's first boot. When the app user can already log in with an IAM
token there is nothing to do, and the master secret is not read: the instances may read it only
during a bootstrap window after the database is created (terraform/iam.tf). Otherwise it reads
the RDS-managed master secret and, holding an advisory lock so that instances booting together
take turns, creates the user and grants what the app needs in one transaction. Running it again
changes nothing.
"""

import argparse
import json
from typing import Any

import boto3
import psycopg
from psycopg import sql

OPTIONS = (
    "--region",
    "--master-secret-arn",
    "--host",
    "--port",
    "--dbname",
    "--app-user",
    "--ca-bundle",
)
# Any constant the app's own locks do not use (its migrations lock 7240511001).
BOOTSTRAP_LOCK_ID = 7_240_511_002


def app_user_can_log_in(args: argparse.Namespace) -> bool:
    """Whether the app user exists with IAM login and CONNECT: then bootstrap has run."""
    rds = boto3.client("rds", region_name=args.region)
    token = rds.generate_db_auth_token(
        DBHostname=args.host, Port=int(args.port), DBUsername=args.app_user, Region=args.region
    )
    try:
        with psycopg.connect(**connection_options(args, args.app_user, token)):
            return True
    except psycopg.OperationalError:
        return False


def connection_options(args: argparse.Namespace, user: str, password: str) -> dict[str, Any]:
    """psycopg.connect arguments: TLS checked against the RDS CA bundle, short timeout."""
    return {
        "host": args.host,
        "port": int(args.port),
        "dbname": args.dbname,
        "user": user,
        "password": password,
        "sslmode": "verify-full",
        "sslrootcert": args.ca_bundle,
        "connect_timeout": 10,
    }


def bootstrap(args: argparse.Namespace) -> None:
    """Log in with the master secret and create the app user."""
    secrets = boto3.client("secretsmanager", region_name=args.region)
    master = json.loads(secrets.get_secret_value(SecretId=args.master_secret_arn)["SecretString"])
    options = connection_options(args, master["username"], master["password"])
    with psycopg.connect(**options) as conn:
        create_app_user(conn, dbname=args.dbname, app_user=args.app_user)


def create_app_user(conn: psycopg.Connection[Any], *, dbname: str, app_user: str) -> None:
    """Create the app user if missing; grant it IAM login and the privileges it needs.

    One transaction: the advisory lock serialises concurrent boots (concurrent GRANTs on one
    role fail with "tuple concurrently updated"), and the user appears with all its grants or
    not at all.
    """
    user = sql.Identifier(app_user)
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (BOOTSTRAP_LOCK_ID,))
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (app_user,)).fetchone()
        if exists is None:
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(user))
        conn.execute(sql.SQL("GRANT rds_iam TO {}").format(user))
        conn.execute(
            sql.SQL("GRANT CONNECT, TEMPORARY ON DATABASE {} TO {}").format(
                sql.Identifier(dbname), user
            )
        )
        # Since PostgreSQL 15 not every user may create in the public schema; migrations must.
        conn.execute(sql.SQL("GRANT USAGE, CREATE ON SCHEMA public TO {}").format(user))


def main() -> None:
    """Bootstrap unless the app user can already log in."""
    parser = argparse.ArgumentParser(description=__doc__)
    for option in OPTIONS:
        parser.add_argument(option, required=True)
    args = parser.parse_args()
    if app_user_can_log_in(args):
        print(f"bootstrap_db: {args.app_user} already logs in with IAM; nothing to do")
        return
    bootstrap(args)
    print(f"bootstrap_db: {args.app_user} created or updated")


if __name__ == "__main__":
    main()
