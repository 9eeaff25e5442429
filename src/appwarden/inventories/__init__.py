"""App inventories taken by the MDMs an organisation already runs (Intune, Android
Management API, Apple MDM), imported as devices of that source and judged like agents."""
