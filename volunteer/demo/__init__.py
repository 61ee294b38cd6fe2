"""The demo town: Shanyang's organisation (DESIGN §1) with its people as accounts."""
