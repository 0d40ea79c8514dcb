# SPDX-License-Identifier: Apache-2.0
"""portable-fn on Google Cloud Functions (Cloud Run functions), served by functions-framework.

The generated ``main.py`` calls ``http_function(app, name)`` / ``cloud_event_function(app, name)``
once per handler. Only those two names live here; importing this package loads the codecs the
entry needs and nothing else (no Google SDK: Pub/Sub loads on the first publish).
"""

from portable_fn_gcp.functions import cloud_event_function as cloud_event_function
from portable_fn_gcp.functions import http_function as http_function

__version__ = "0.1.0"
