"""Amazon: the marketplace table, sign-in links and the verdict on what Amazon returned."""
