"""Shared runtime of the Nova RFT reward Lambdas: contract, reward spec, graders.

Importable without AWS: nothing here touches the network at import time, and heavy
libraries (math-verify, jsonschema) are imported lazily by the graders that need them.
"""
