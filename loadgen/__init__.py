"""Open-loop load generator for V2 and Seldon inference endpoints: ``python -m loadgen --rps 50``."""
