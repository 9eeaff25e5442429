"""Waivers: exceptions to one determination for named devices or users, never blanket."""
