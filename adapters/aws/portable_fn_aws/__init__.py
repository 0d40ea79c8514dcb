# SPDX-License-Identifier: Apache-2.0
"""portable-fn on AWS Lambda: ``lambda_handler(app, function_name)`` is the runtime entry."""

from portable_fn_aws._handler import lambda_handler as lambda_handler

__version__ = "0.1.0"
