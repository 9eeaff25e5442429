"""The fleet: devices, device groups (static members and attribute rules), enrollment."""
