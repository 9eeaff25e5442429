"""Device protocol v1: signed requests (:mod:`.signing`), routes (:mod:`.views`), bodies
(:mod:`.schemas`). Described for device makers in docs/protocol.md."""
