"""Data sets: the Qujialing fixture (the article's district) and, later, synthetic provinces."""
