"""The capacity step written in Python with boto3, for the cold-start comparison only.

It speaks the Lambda Runtime API like AWS's Python runtime does (fetch the next event, post the
answer) and makes the same calls as the Rust step: read the run-time dials, list the slots,
count live instances, take a slot with PutParameter without Overwrite.
"""
import json
import os
import urllib.request

import boto3

API = os.environ["AWS_LAMBDA_RUNTIME_API"]
STACK = os.environ.get("PREVIEW_STACK", "dspace-preview")
MAX_LIVE = int(os.environ.get("PREVIEW_MAX_LIVE", "3"))

ssm = boto3.client("ssm")
ec2 = boto3.client("ec2")


def handler(event):
    root = f"/dspace-preview/{STACK}"
    ssm.get_parameters_by_path(Path=f"{root}/config/")
    held = ssm.get_parameters_by_path(Path=f"{root}/slots/")["Parameters"]
    live = ec2.describe_instances(Filters=[
        {"Name": "tag:dspace-preview:stack", "Values": [STACK]},
        {"Name": "instance-state-name", "Values": ["pending", "running"]},
    ])["Reservations"]
    if max(len(held), len(live)) >= MAX_LIVE:
        raise RuntimeError("NoFreeSlot")
    for slot in range(1, MAX_LIVE + 1):
        try:
            ssm.put_parameter(Name=f"{root}/slots/{slot}", Value=json.dumps({"preview_id": event["preview_id"]}),
                              Type="String", Overwrite=False)
            return {"slot": slot}
        except ssm.exceptions.ParameterAlreadyExists:
            continue
    raise RuntimeError("NoFreeSlot")


def main():
    with urllib.request.urlopen(f"http://{API}/2018-06-01/runtime/invocation/next") as r:
        request_id = r.headers["Lambda-Runtime-Aws-Request-Id"]
        event = json.loads(r.read())
    body = json.dumps(handler(event)).encode()
    req = urllib.request.Request(f"http://{API}/2018-06-01/runtime/invocation/{request_id}/response", data=body, method="POST")
    urllib.request.urlopen(req).read()


main()
