"""Reading FER2013 in the forms people have (CSV, Kaggle folders, FER+, npz), splitting, caching, describing it."""
