"""How far to trust an output: calibration, derived findings, and the input check (bundle format 2)."""
