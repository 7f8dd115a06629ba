"""One room per way in: converters plus a thin handler that calls the engine; no journey logic."""
