"""A deterministic synthetic province: one root above N districts, their cases over two years."""

from seeds.synthetic.loader import Report, load

__all__ = ["Report", "load"]
