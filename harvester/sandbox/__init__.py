"""The bundled sandbox CKAN portal: tests, the demo and benchmarks harvest it instead of the real portals.

    with SandboxPortal(synthetic=0, seed=1) as portal:
        portal.api_url("cdmx")          # http://127.0.0.1:PORT/cdmx/api/3/action/
        portal.faults("cdmx").hang = True
"""
from harvester.sandbox.server import Faults, RequestRecord, SandboxPortal

__all__ = ["Faults", "RequestRecord", "SandboxPortal"]
