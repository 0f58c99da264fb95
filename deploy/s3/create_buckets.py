"""Creates the stack's S3 buckets if they are missing (one-shot service; idempotent).

Runs in the MLflow image, which already carries boto3, so the stack needs no extra image for it.
Buckets come from S3_BUCKETS (comma-separated); endpoint and credentials from the environment.
"""

import os
import sys
import time

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError

endpoint = os.environ["S3_ENDPOINT"]
buckets = [b.strip() for b in os.environ["S3_BUCKETS"].split(",") if b.strip()]
s3 = boto3.client(
    "s3",
    endpoint_url=endpoint,
    aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"],
    aws_secret_access_key=os.environ["AWS_SECRET_ACCESS_KEY"],
    region_name=os.environ.get("AWS_REGION", "us-east-1"),
    config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 3}),
)

for attempt in range(60):
    try:
        s3.list_buckets()
        break
    except (EndpointConnectionError, ClientError) as e:
        print(f"waiting for S3 at {endpoint}: {e}", flush=True)
        time.sleep(2)
else:
    sys.exit(f"S3 at {endpoint} did not answer")

for bucket in buckets:
    try:
        s3.head_bucket(Bucket=bucket)
        print(f"bucket {bucket} exists", flush=True)
    except ClientError as e:
        if e.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket", "NotFound"):
            raise
        s3.create_bucket(Bucket=bucket)
        print(f"bucket {bucket} created", flush=True)
