// Placeholder so the test binary compiles; replaced by its author.
