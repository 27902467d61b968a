"""schemathesis against /openapi.json, in process through Flask's WSGI interface.

Every operation is exercised with schema-valid and schema-violating requests (a bounded
number of examples each); every response must conform to the document: declared status
codes, JSON bodies matching their schemas, no 5xx, invalid requests refused with 4xx.

One allowance: a schema can say "base64" or "binary" but not "the bytes form a decodable
image of at most 4096 px a side", so a schema-valid /predict request may be refused with
413 (dimensions), 415 (another image format) or 422 (not an image) — as documented.
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig

from app.factory import create_app

# Raw BMP bodies are bytes like any other upload.
schemathesis.serializer.alias("image/bmp", "application/octet-stream")
CONFIG = SchemathesisConfig.from_dict({
    "checks": {"positive_data_acceptance": {"expected-statuses": ["2xx", "413", "415", "422"]}},
})
schema = schemathesis.openapi.from_wsgi("/openapi.json", create_app(), config=CONFIG)


@schema.parametrize()
@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_openapi_document(case):
    case.call_and_validate()
