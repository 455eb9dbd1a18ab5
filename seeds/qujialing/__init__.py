"""The Qujialing fixture: the district of the source article, reproducing its figures from data."""

from seeds.qujialing.loader import SeedReport, load

__all__ = ["SeedReport", "load"]
