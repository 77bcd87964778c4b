"""The compiled model: `eco.py` run once (confined), the result kept as versioned JSON.

- `classes`: the explicit allow-list of model classes and their (generic) field specs;
- `codec`: model objects <-> JSON values, strict, generic over dataclass fields;
- `document`: the `model.json` file: format, version, content hash;
- `validation`: a pydantic-core schema generated from the same specs, for strict validation
  of untrusted compiler output, and the published JSON Schema (imported only where needed: a
  job pod only reads a hash-checked file with the strict decoder);
- `child`: the compiler process that runs `eco.py`.
"""

from datasurface.model.manifest.codec import ManifestError, ValueIssue, check_values
from datasurface.model.manifest.document import MANIFEST_FILE, VERSION, read_manifest

__all__ = ["MANIFEST_FILE", "VERSION", "ManifestError", "ValueIssue", "check_values", "read_manifest"]
