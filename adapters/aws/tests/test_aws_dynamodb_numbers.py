# SPDX-License-Identifier: Apache-2.0
"""DynamoDB Streams ``N`` values wider than a float: integral ones arrive as exact ints.

Numbers have up to 38 significant digits and magnitudes to 1E+125, sent as strings
(https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/HowItWorks.NamingRulesDataTypes.html#HowItWorks.DataTypes.Number);
DynamoDB writes them back in plain notation, ``1.00000000000000007629769841092E+50`` stored is
read as ``100000000000000007629769841092000000000000000000000`` (boto/boto3#4636).
Record: the generated sample (``sam_dynamodb.json``), its NewImage given such numbers.
"""

from __future__ import annotations

import copy

from portable_fn_aws import dynamodb

from aws_fixtures import load

WIDE = "12345678901234567890123456789012345678"  # 38 digits: DynamoDB's full precision
PLAIN = "100000000000000007629769841092000000000000000000000"  # boto/boto3#4636, as read back


def test_integral_numbers_wider_than_a_float_are_exact_ints() -> None:
    record = copy.deepcopy(load("sam_dynamodb.json")["Records"][0])
    image = record["dynamodb"]["NewImage"]
    image["Wide"] = {"N": WIDE}
    image["Plain"] = {"NS": [PLAIN, "-" + WIDE]}
    (event,) = dynamodb.from_record(record)
    new = event.data["new_image"]
    assert new["Wide"] == int(WIDE) and type(new["Wide"]) is int
    assert new["Plain"] == [int(PLAIN), -int(WIDE)]
    assert float(WIDE) != int(WIDE)  # what a float would have made of it


def test_non_integral_numbers_are_floats() -> None:
    """As the module docstring says: JSON carries them; digits past a float's are lost."""
    assert dynamodb.attribute({"N": "0.1000000000000000000001"}) == 0.1
