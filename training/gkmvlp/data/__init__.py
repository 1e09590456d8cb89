"""Datasets for GK-MVLP: the synthetic chest X-ray generator, the contract-layout reader and
readers for the real public formats (MIMIC-CXR-JPG, Chest ImaGenome, NIH ChestX-ray14, CheXpert,
IU X-Ray / Open-i, VQA-RAD, SLAKE). Framework-free (numpy); the model package wraps these in torch
Datasets."""
