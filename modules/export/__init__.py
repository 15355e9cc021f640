"""Export a network and its weights as a TF Hub module: TF1 Hub format and TF2 SavedModel."""
