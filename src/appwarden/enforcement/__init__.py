"""The database side of the policy: resolve determinations and waivers, version each
device's compiled document (the compiler itself is the pure :mod:`appwarden.policy`)."""
