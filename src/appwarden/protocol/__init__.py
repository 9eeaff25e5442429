"""The device protocol: what phones and agents speak (``/v1/…``), apart from the REST API."""
