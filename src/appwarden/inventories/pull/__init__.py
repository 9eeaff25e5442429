"""Pulls of inventories through the APIs of other MDMs, as configured and scheduled."""
