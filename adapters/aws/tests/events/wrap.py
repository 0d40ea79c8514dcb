# SPDX-License-Identifier: Apache-2.0
"""Build the delivery-path fixtures by wrapping generated events the way AWS wraps them.

S3 -> SQS: the SQS body is the S3 notification JSON
(https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html);
S3 -> SNS -> Lambda: the SNS ``Message`` is that JSON
(https://docs.aws.amazon.com/sns/latest/dg/sns-message-and-json-formats.html).
Run after generate.sh: ``python wrap.py``.
"""

import json
from pathlib import Path

HERE = Path(__file__).parent
s3_put = json.loads((HERE / "sam_s3_put.json").read_text())
sqs = json.loads((HERE / "sam_sqs.json").read_text())
sns = json.loads((HERE / "sam_sns.json").read_text())


def sqs_with(body: str, message_id: str) -> dict:
    record = json.loads(json.dumps(sqs["Records"][0]))
    record["body"] = body
    record["messageId"] = message_id
    record["eventSourceARN"] = "arn:aws:sqs:us-east-1:123456789012:shop-on_upload"
    return record


def dump(name: str, obj: dict) -> None:
    (HERE / name).write_text(json.dumps(obj, indent=2) + "\n")


dump(
    "sqs_s3.json",
    {"Records": [sqs_with(json.dumps(s3_put), "8d7a0e5c-1f8b-4f0e-9d55-3b1f2c4d5e6f")]},
)
dump(
    "sqs_s3_test_event.json",
    {
        "Records": [
            sqs_with(
                json.dumps(
                    {
                        "Service": "Amazon S3",
                        "Event": "s3:TestEvent",
                        "Time": "2026-11-23T10:00:00.000Z",
                        "Bucket": "uploads",
                        "RequestId": "5582815E1AEA5ADF",
                        "HostId": "8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR+YstdA6Knx4Ip8"
                        "EXAMPLE",
                    }
                ),
                "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
            )
        ]
    },
)
sns_s3 = json.loads(json.dumps(sns))
sns_s3["Records"][0]["Sns"]["Message"] = json.dumps(s3_put)
sns_s3["Records"][0]["Sns"]["Subject"] = "Amazon S3 Notification"
dump("sns_s3.json", sns_s3)
