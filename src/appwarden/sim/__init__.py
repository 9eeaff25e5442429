"""The reference agent and the fleet simulator: a device that speaks protocol v1 over HTTP
(:mod:`.agent`), the package manager it enforces on (:mod:`.packages`), many of them over
processes and loopback addresses (:mod:`.fleet`, :mod:`.processes`) and the ban drill
(:mod:`.drill`). Described in docs/agent.md."""
