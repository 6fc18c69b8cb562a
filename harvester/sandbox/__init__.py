"""The bundled sandbox CKAN portal: tests, the demo and benchmarks harvest it instead of the real portals."""
from harvester.sandbox.server import Faults, RequestRecord, SandboxPortal

__all__ = ["Faults", "RequestRecord", "SandboxPortal"]
