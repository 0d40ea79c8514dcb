# SPDX-License-Identifier: Apache-2.0
from __future__ import annotations

import pytest
from aws_fixtures import FakeLambdaContext


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()
