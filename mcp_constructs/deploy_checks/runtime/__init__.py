"""Lambda code of the deploy checks: plain Python, boto3 + standard library only."""
