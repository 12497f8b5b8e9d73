"""Datasets in the keras.datasets style."""
