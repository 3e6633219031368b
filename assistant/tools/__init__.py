"""Tools over the same public functions as the front ends: evaluation, bench, doctor."""
