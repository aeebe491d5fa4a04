"""GovDesk 区政通 — the work platform of a Chinese district government."""
