"""Plain, frozen data: the vocabulary every other layer speaks. No I/O here."""
