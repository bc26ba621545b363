"""The `edgefer predict` command: faces or photos in, labels out, annotated images, runtime lookup."""
