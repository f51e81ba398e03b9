"""Presigned POST forms, with the bucket's endpoint worked out once instead of for every form.

botocore's `generate_presigned_post` resolves the bucket's endpoint (its rules engine) and
serializes a request for it on every call: about two thirds of a form's cost, and none of it
depends on the key. `PostForms` prepares that request once per bucket, exactly as botocore
does, and gives a copy of it to botocore's own `S3PostPresigner` for each form: the policy
and the signature still come from botocore. tests/unit/test_storage_forms.py checks that the
forms are identical to botocore's, field for field.
"""

from __future__ import annotations

import copy
import threading
from typing import TYPE_CHECKING, Any

# botocore's own helper for this, private like the client methods below: the tests compare
# every form with botocore's public generate_presigned_post, so a change there shows.
from botocore.signers import (  # type: ignore[attr-defined]
    S3PostPresigner,
    _should_use_global_endpoint,
)
from botocore.utils import ArnParser

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


class PostForms:
    """Signs POST forms for one S3 client, as `generate_presigned_post` would."""

    def __init__(self, client: S3Client) -> None:
        self._client = client
        self._prepared: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def sign(
        self,
        bucket: str,
        key: str,
        *,
        fields: dict[str, str],
        conditions: list[Any],
        expires_in: int,
    ) -> dict[str, Any]:
        """`{"url": ..., "fields": ...}` for a form that uploads exactly `key` to `bucket`."""
        prepared = self._prepared.get(bucket) or self._prepare(bucket)
        # The signer writes the form's fields and policy into the request's context: each
        # form gets its own copy, so concurrent forms never share one.
        request = {
            **prepared,
            "headers": dict(prepared["headers"]),
            "context": copy.deepcopy(prepared["context"]),
        }
        presigner = S3PostPresigner(self._client._request_signer)  # type: ignore[attr-defined]
        signed: dict[str, Any] = presigner.generate_presigned_post(
            request_dict=request,
            fields={**fields, "key": key},
            conditions=[*conditions, {"bucket": bucket}, _key_condition(key)],
            expires_in=expires_in,
        )
        return signed

    def _prepare(self, bucket: str) -> dict[str, Any]:
        """The bucket's request as botocore's `generate_presigned_post` builds it."""
        try:
            prepared = self._botocore_request(bucket)
        except AttributeError as exc:
            # Not the missing credentials Storage reports as such: botocore changed its insides.
            raise RuntimeError(f"cannot prepare POST forms with this botocore: {exc}") from exc
        with self._lock:
            self._prepared[bucket] = prepared
        return prepared

    def _botocore_request(self, bucket: str) -> dict[str, Any]:
        client: Any = self._client
        context = {
            "is_presign_request": True,
            "use_global_endpoint": _should_use_global_endpoint(client),
        }
        # botocore signs forms as a CreateBucket request: its URL is the bucket's.
        operation = client.meta.service_model.operation_model("CreateBucket")
        params = client._emit_api_params(
            api_params={"Bucket": bucket}, operation_model=operation, context=context
        )
        endpoint_url, headers, _ = client._resolve_endpoint_ruleset(
            operation,
            params,
            context,
            ignore_signing_region=not ArnParser.is_arn(params.get("Bucket", "")),
        )
        prepared: dict[str, Any] = client._convert_to_request_dict(
            api_params=params,
            operation_model=operation,
            endpoint_url=endpoint_url,
            context=context,
            headers=headers,
            set_user_agent_header=False,
        )
        return prepared


def _key_condition(key: str) -> Any:
    """The key's condition, added after the caller's as botocore adds it."""
    if key.endswith("${filename}"):  # the browser's file name completes the key
        return ["starts-with", "$key", key[: -len("${filename}")]]
    return {"key": key}
